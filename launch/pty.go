package launch

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal proxy. A node daemon is not in the caller's
// session, so a program it runs cannot take the caller's terminal as its
// controlling terminal. Like ssh -t or docker -t, herd run then gives the
// program a terminal of its own: a pseudo-terminal whose slave is the
// program's stdio and controlling terminal (the program leads a new
// session on it, so shells do full job control), while herd run copies
// bytes between the caller's terminal, put in raw mode, and the master,
// and passes window size changes on.
type PTY struct {
	master *os.File
	// Slave is the program's side; close it once it has been passed.
	Slave *os.File
	saved *unix.Termios
	done  chan struct{}
}

// OpenPTY opens a pseudo-terminal sized like the caller's terminal on
// fd 0 and puts the caller's terminal in raw mode.
func OpenPTY() (*PTY, error) {
	master, slave, err := openPair()
	if err != nil {
		return nil, err
	}
	p := &PTY{master: master, Slave: slave, done: make(chan struct{})}
	p.resize()
	if saved, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		if unix.IoctlSetTermios(0, unix.TCSETS, rawMode(*saved)) == nil {
			p.saved = saved
		}
	}
	return p, nil
}

// openPair opens a new pseudo-terminal's master and slave.
func openPair() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pseudo-terminal number: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pseudo-terminal slave: %w", err)
	}
	return master, slave, nil
}

// rawMode is t as cfmakeraw leaves it.
func rawMode(t unix.Termios) *unix.Termios {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return &t
}

// resize gives the pseudo-terminal the caller's window size.
func (p *PTY) resize() {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Run copies between the caller's terminal and the master until the
// program's side is closed, and follows window size changes.
func (p *PTY) Run() {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			p.resize()
		}
	}()
	go io.Copy(p.master, os.Stdin)
	go func() {
		// EIO once every slave descriptor is closed: the program and
		// everything that shared its terminal are gone.
		io.Copy(os.Stdout, p.master)
		close(p.done)
	}()
}

// Finish waits for the program's last output and restores the caller's
// terminal.
func (p *PTY) Finish() {
	<-p.done
	if p.saved != nil {
		unix.IoctlSetTermios(0, unix.TCSETS, p.saved)
	}
}
