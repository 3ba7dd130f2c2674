package pidspace

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var (
	rootCreds  = Creds{}
	userCreds  = Creds{RUID: 1000, EUID: 1000, SUID: 1000, RGID: 1000, EGID: 1000, SGID: 1000}
	otherCreds = Creds{RUID: 2000, EUID: 2000, SUID: 2000, RGID: 2000, EGID: 2000, SGID: 2000}
)

const sigchld = int(syscall.SIGCHLD)

// recAlloc records the PIDs the Space frees.
type recAlloc struct {
	mu    sync.Mutex
	freed []int
}

func (r *recAlloc) Alloc() (int, error) { return 0, errors.New("not used") }
func (r *recAlloc) Reserve(int) error   { return nil }
func (r *recAlloc) Free(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.freed = append(r.freed, pid)
}

func (r *recAlloc) take() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.freed
	r.freed = nil
	slices.Sort(out)
	return out
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newTestSpace returns init, launcher 100 (user, session 100) and its
// program 200 (own group, session 100).
func newTestSpace(t *testing.T) (*Space, *recAlloc) {
	t.Helper()
	rec := &recAlloc{}
	s := NewSpace("a", rec)
	ok(t, s.AddInit())
	ok(t, s.AddVirtual(100, userCreds, "sh"))
	ok(t, s.Spawn(SpawnArgs{PPID: 100, PID: 200, Creds: userCreds, Comm: "prog", Args: "prog -x"}))
	return s, rec
}

func lookup(t *testing.T, s *Space, pid int) Process {
	t.Helper()
	p, found := s.Lookup(pid)
	if !found {
		t.Fatalf("no record of %d", pid)
	}
	return p
}

func TestSpawnAndVirtual(t *testing.T) {
	s, _ := newTestSpace(t)
	l := lookup(t, s, 100)
	if !l.Virtual || l.PPID != InitPID || l.PGID != 100 || l.SID != 100 || !l.SessionLeader() {
		t.Errorf("launcher = %+v", l)
	}
	p := lookup(t, s, 200)
	if p.PPID != 100 || p.PGID != 200 || p.SID != 100 || !p.Execed || p.ExitSignal != sigchld || p.Node != "a" || p.Virtual {
		t.Errorf("program = %+v", p)
	}
	tests := []struct {
		name string
		a    SpawnArgs
		want error
	}{
		{"pid taken", SpawnArgs{PPID: 100, PID: 200}, syscall.EEXIST},
		{"no parent", SpawnArgs{PPID: 99, PID: 300}, syscall.ESRCH},
		{"pid 1", SpawnArgs{PPID: 100, PID: 1}, syscall.EINVAL},
		{"no such session", SpawnArgs{PPID: 100, PID: 300, SID: 77}, syscall.EPERM},
		{"group of another session", SpawnArgs{PPID: 100, PID: 300, PGID: 1}, syscall.EPERM},
		{"new session needs own group", SpawnArgs{PPID: 100, PID: 300, SID: 300, PGID: 200}, syscall.EPERM},
		{"join existing group", SpawnArgs{PPID: 100, PID: 301, PGID: 200}, nil},
		{"new session", SpawnArgs{PPID: 100, PID: 302, SID: 302, Node: "b"}, nil},
	}
	for _, tt := range tests {
		if err := s.Spawn(tt.a); !errors.Is(err, tt.want) {
			t.Errorf("%s: Spawn = %v, want %v", tt.name, err, tt.want)
		}
	}
	if p := lookup(t, s, 302); p.SID != 302 || p.PGID != 302 || p.Node != "b" {
		t.Errorf("new-session spawn = %+v", p)
	}
	if err := s.AddVirtual(100, userCreds, "sh"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("AddVirtual twice = %v", err)
	}
	if err := s.AddInit(); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("AddInit twice = %v", err)
	}
}

func TestForkInheritsLikeLinux(t *testing.T) {
	s, _ := newTestSpace(t)
	ok(t, s.SetSubreaper(200, true))
	ok(t, s.SetPdeathsig(200, int(syscall.SIGTERM)))
	ok(t, s.SetSigchldAction(200, SigchldAction{Ignored: true, NoCldStop: true}))
	ok(t, s.SetNode(200, "b"))
	ok(t, s.Fork(200, 201, sigchld))
	ok(t, s.Fork(200, 202, int(syscall.SIGUSR1)))
	c := lookup(t, s, 201)
	want := Process{
		PID: 201, PPID: 200, PGID: 200, SID: 100, Creds: userCreds, Home: "a", Node: "b",
		Comm: "prog", Args: "prog -x", ExitSignal: sigchld,
		Sigchld: SigchldAction{Ignored: true, NoCldStop: true}, StartTime: c.StartTime,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("child = %+v\nwant    %+v", c, want)
	}
	if c := lookup(t, s, 202); c.ExitSignal != int(syscall.SIGUSR1) {
		t.Errorf("clone child exit signal = %d", c.ExitSignal)
	}
	if kids, _ := s.Children(200); !slices.Equal(kids, []int{201, 202}) {
		t.Errorf("children = %v", kids)
	}
	tests := []struct {
		parent, child, sig int
		want               error
	}{
		{200, 201, sigchld, syscall.EEXIST},
		{999, 203, sigchld, syscall.ESRCH},
		{200, 203, 65, syscall.EINVAL},
		{200, 203, -1, syscall.EINVAL},
		{200, 0, sigchld, syscall.EINVAL},
		{200, 203, 0, nil},
	}
	for _, tt := range tests {
		if err := s.Fork(tt.parent, tt.child, tt.sig); !errors.Is(err, tt.want) {
			t.Errorf("Fork(%d, %d, %d) = %v, want %v", tt.parent, tt.child, tt.sig, err, tt.want)
		}
	}
	// A zombie cannot fork.
	_, err := s.Exit(203, ExitedStatus(0), Rusage{})
	ok(t, err)
	if err := s.Fork(203, 204, sigchld); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("fork from zombie = %v", err)
	}
}

func TestExecResetsSigchldFlagsButKeepsIgnore(t *testing.T) {
	s, _ := newTestSpace(t)
	tests := []struct {
		before, after SigchldAction
	}{
		{SigchldAction{}, SigchldAction{}},
		{SigchldAction{Ignored: true, NoCldStop: true, NoCldWait: true}, SigchldAction{Ignored: true}},
		{SigchldAction{NoCldStop: true, NoCldWait: true}, SigchldAction{}},
	}
	for _, tt := range tests {
		ok(t, s.SetSigchldAction(200, tt.before))
		ok(t, s.Exec(200, "cc", "cc -c x.c"))
		p := lookup(t, s, 200)
		if p.Sigchld != tt.after || p.Comm != "cc" || p.Args != "cc -c x.c" || !p.Execed {
			t.Errorf("after exec with %+v: %+v", tt.before, p)
		}
	}
	if err := s.Exec(999, "x", "x"); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("exec of missing = %v", err)
	}
}

func TestSetCredsClearsPdeathsigOnEffectiveChange(t *testing.T) {
	tests := []struct {
		name  string
		creds Creds
		keep  bool
	}{
		{"same", userCreds, true},
		{"real uid only", Creds{RUID: 5, EUID: 1000, SUID: 1000, RGID: 1000, EGID: 1000, SGID: 1000}, true},
		{"euid", Creds{RUID: 1000, EUID: 0, SUID: 1000, RGID: 1000, EGID: 1000, SGID: 1000}, false},
		{"egid", Creds{RUID: 1000, EUID: 1000, SUID: 1000, RGID: 1000, EGID: 7, SGID: 1000}, false},
	}
	for _, tt := range tests {
		s, _ := newTestSpace(t)
		ok(t, s.SetPdeathsig(200, int(syscall.SIGKILL)))
		ok(t, s.SetCreds(200, tt.creds))
		p := lookup(t, s, 200)
		if got := p.Pdeathsig != 0; got != tt.keep || p.Creds != tt.creds {
			t.Errorf("%s: pdeathsig %d, creds %+v", tt.name, p.Pdeathsig, p.Creds)
		}
	}
	s, _ := newTestSpace(t)
	if err := s.SetPdeathsig(200, 65); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("SetPdeathsig(65) = %v", err)
	}
	if sig, err := s.Pdeathsig(200); sig != 0 || err != nil {
		t.Errorf("Pdeathsig = %d, %v", sig, err)
	}
	ok(t, s.SetSubreaper(200, true))
	if on, err := s.Subreaper(200); !on || err != nil {
		t.Errorf("Subreaper = %v, %v", on, err)
	}
}

// TestPIDFreedOnlyWhenUnreferenced checks the three references that keep a
// PID: the record, the kernel task, and use as a PGID or SID.
func TestPIDFreedOnlyWhenUnreferenced(t *testing.T) {
	t.Run("reap then kernel gone", func(t *testing.T) {
		s, rec := newTestSpace(t)
		ok(t, s.Fork(200, 201, sigchld))
		_, err := s.Exit(201, ExitedStatus(0), Rusage{})
		ok(t, err)
		if got := rec.take(); got != nil {
			t.Fatalf("freed %v while zombie", got)
		}
		res, err := s.Wait(200, Wait4(201, 0))
		ok(t, err)
		if !res.Reaped {
			t.Fatal("not reaped")
		}
		if got := rec.take(); got != nil {
			t.Fatalf("freed %v while kernel task lives", got)
		}
		ok(t, s.KernelGone(201))
		if got := rec.take(); !slices.Equal(got, []int{201}) {
			t.Fatalf("freed %v, want [201]", got)
		}
		if err := s.KernelGone(201); !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("second KernelGone = %v", err)
		}
	})
	t.Run("kernel gone then reap", func(t *testing.T) {
		s, rec := newTestSpace(t)
		ok(t, s.Fork(200, 201, sigchld))
		ok(t, s.KernelGone(201))
		_, err := s.Exit(201, ExitedStatus(0), Rusage{})
		ok(t, err)
		if got := rec.take(); got != nil {
			t.Fatalf("freed %v while zombie", got)
		}
		_, err = s.Wait(200, Wait4(-1, 0))
		ok(t, err)
		if got := rec.take(); !slices.Equal(got, []int{201}) {
			t.Fatalf("freed %v, want [201]", got)
		}
	})
}

// TestGroupAndSessionHoldPIDs: a group or session number is freed only
// when its last member leaves, and once.
func TestGroupAndSessionHoldPIDs(t *testing.T) {
	t.Run("group outlives its leader", func(t *testing.T) {
		s, rec := newTestSpace(t)
		ok(t, s.Fork(200, 201, sigchld)) // in group 200
		ok(t, s.KernelGone(200))         // kernel task of 200 already gone
		_, err := s.Exit(200, ExitedStatus(0), Rusage{})
		ok(t, err)
		_, err = s.Wait(100, Wait4(200, 0)) // launcher reaps 200
		ok(t, err)
		if got := rec.take(); got != nil {
			t.Fatalf("freed %v while 201 is in group 200", got)
		}
		_, err = s.Setsid(201) // leaves group 200
		ok(t, err)
		if got := rec.take(); !slices.Equal(got, []int{200}) {
			t.Fatalf("freed %v, want [200]", got)
		}
	})
	t.Run("session outlives its leader", func(t *testing.T) {
		s, rec := newTestSpace(t)
		// The launcher (virtual: no kernel task) goes; its program lives.
		_, err := s.Exit(100, KilledStatus(syscall.SIGHUP, false), Rusage{})
		ok(t, err)
		if got := rec.take(); got != nil {
			t.Fatalf("freed %v while 200 is in session 100", got)
		}
		if p := lookup(t, s, 200); p.PPID != InitPID {
			t.Fatalf("program not reparented to init: %+v", p)
		}
		_, err = s.Exit(200, ExitedStatus(0), Rusage{}) // reaped by init at once
		ok(t, err)
		if got := rec.take(); !slices.Equal(got, []int{100}) {
			t.Fatalf("freed %v, want [100] (200's kernel task still exists)", got)
		}
		ok(t, s.KernelGone(200))
		if got := rec.take(); !slices.Equal(got, []int{200}) {
			t.Fatalf("freed %v, want [200]", got)
		}
	})
	t.Run("one number, three references, one free", func(t *testing.T) {
		s, rec := newTestSpace(t)
		ok(t, s.Fork(200, 201, sigchld))
		_, err := s.Setsid(201)
		ok(t, err)
		ok(t, s.KernelGone(201))
		_, err = s.Exit(201, ExitedStatus(0), Rusage{})
		ok(t, err)
		_, err = s.Wait(200, Wait4(201, 0))
		ok(t, err)
		if got := rec.take(); !slices.Equal(got, []int{201}) {
			t.Fatalf("freed %v, want [201] once", got)
		}
	})
}

func TestListChildrenString(t *testing.T) {
	s, _ := newTestSpace(t)
	ok(t, s.Fork(200, 201, sigchld))
	var pids []int
	for _, p := range s.List() {
		pids = append(pids, p.PID)
	}
	if !slices.Equal(pids, []int{1, 100, 200, 201}) {
		t.Errorf("List pids = %v", pids)
	}
	if kids, err := s.Children(1); err != nil || !slices.Equal(kids, []int{100}) {
		t.Errorf("Children(1) = %v, %v", kids, err)
	}
	if _, err := s.Children(5); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("Children(5) = %v", err)
	}
	if ppid, err := s.Getppid(201); ppid != 200 || err != nil {
		t.Errorf("Getppid = %d, %v", ppid, err)
	}
	if _, err := s.Getppid(5); err != syscall.ESRCH {
		t.Errorf("Getppid(5) = %v", err)
	}
	dump := s.String()
	for _, want := range []string{"herd-init", "Rvs", "prog"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
}
