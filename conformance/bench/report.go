package main

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// nativeSlack is how far above 1.00× an untrapped benchmark may land and
	// still count as native: two shared cores are noisy.
	nativeSlack = 1.05
	// trapBudgetNs is the design's allowance per trapped call on top of
	// one raw ptrace seccomp stop.
	trapBudgetNs = 1000
	// runscStartNs is gVisor runsc's `runsc do true` on this machine, from
	// the design (runsc is not installed here); herd targets a tenth of it.
	runscStartNs = 450e6
	// daemonStartNs is issue 12's target for a start through a daemon.
	daemonStartNs = 5e6
)

var header = []string{"benchmark", "native (ns/op)", "herd (ns/op)", "herd/native", "target", "ok"}

// A report is the table of one run and the notes under it.
type report struct {
	m       machine
	rows    [][]string
	notes   []string
	elapsed time.Duration
	// traces are the start's phases, rendered (Markdown tables).
	traces []string
}

func newReport(m machine, r *results, reps, startReps int, elapsed time.Duration) *report {
	rep := &report{m: m, elapsed: elapsed}
	add := func(cells ...string) { rep.rows = append(rep.rows, cells) }
	ratio := func(h, n float64) string { return fmt.Sprintf("%.2f×", h/n) }
	check := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	nativeRow := func(prog, label string) {
		n, h := r.med(prog, "native"), r.med(prog, "herd")
		add(label, nanos(n), nanos(h), ratio(h, n), "1.00×", check(h/n <= nativeSlack))
	}
	boundRow := func(prog, label string, bound float64) {
		n, h := r.med(prog, "native"), r.med(prog, "herd")
		add(label, nanos(n), nanos(h), ratio(h, n), fmt.Sprintf("≤ %.0f×", bound), check(h/n <= bound))
	}

	nativeRow("getpid", "getpid (untrapped)")
	gn, gt := r.med("getpid", "native"), r.med("getpid", "tracer")
	add("  same under minimal C tracer¹", nanos(gn), nanos(gt)+" ¹", ratio(gt, gn), "reference", "")
	nativeRow("compute", "compute loop (256 int+FP rounds)")

	kn, kh, kt := r.med("kill", "native"), r.med("kill", "herd"), r.med("kill", "tracer")
	stop, extra := kt-kn, kh-kn
	add("kill(getpid(), 0) (trapped)", nanos(kn), nanos(kh), ratio(kh, kn),
		"≤ C tracer + 1 µs", check(kh <= kt+trapBudgetNs))
	add("  same under minimal C tracer¹", nanos(kn), nanos(kt)+" ¹", ratio(kt, kn), "reference", "")
	for _, v := range notifVariants {
		kv := r.med("kill", v.name())
		add("  same under minimal C user-notif³: "+v.label(), nanos(kn), nanos(kv)+" ³", ratio(kv, kn), "reference", "")
	}
	add("  extra per trapped call: tracer¹ → herd", micros(stop), micros(extra), ratio(extra, stop),
		fmt.Sprintf("≤ %s", micros(stop+trapBudgetNs)), check(extra <= stop+trapBudgetNs))
	notif := r.med("kill", notifVariants[1].name()) - kn // value + sync wake-up
	extraRow := func(prog, label, target string, budget float64) {
		n, h := r.med(prog, "native"), r.med(prog, "herd")
		add(label, nanos(n), nanos(h), ratio(h, n), target, check(h-n <= budget+trapBudgetNs))
	}
	extraRow("getppid", "getppid (notified⁴)", "≤ native + C user-notif³ + 1 µs", notif)
	extraRow("waitnohang", "waitpid(-1, WNOHANG), no child (trapped)", "≤ native + C tracer + 1 µs", stop)

	boundRow("fork", "fork+exit+wait", 2)
	boundRow("spawn", "posix_spawn /bin/true + wait", 2)
	nativeRow("pipe", "pipe ping-pong, 1-byte round trip")

	sn, sh := median(r.startWall["native"]), median(r.startWall["herd"])
	add("herd run -- /bin/true, start to exit²", nanos(sn), nanos(sh), ratio(sh, sn),
		fmt.Sprintf("≤ %s (runsc/10)", millis(runscStartNs/10)), check(sh <= runscStartNs/10))
	if sd := r.startWall["daemon"]; len(sd) > 0 {
		d := median(sd)
		add("  same through a daemon (1-node cluster)²", nanos(sn), nanos(d), ratio(d, sn),
			"≤ "+millis(daemonStartNs), check(d <= daemonStartNs))
	}
	if len(r.traces) > 0 {
		rep.traces = []string{
			renderTrace(fmt.Sprintf("`herd run -- /bin/true`, embedded node: where the start goes (median of each phase over %d traced runs)", r.traceRuns), r.traces["herd"]),
			renderTrace("`herd run -- /bin/true` through a daemon (the same runs' medians)", r.traces["daemon"]),
		}
	}

	rep.notes = []string{
		fmt.Sprintf("Medians of %d runs per side, native and herd interleaved; per-op costs time only the loop, not process start "+
			"(iterations per run: %s).", reps, countList(r.counts)),
		fmt.Sprintf("1.00× targets pass within %.0f%% (two shared cores are noisy).", (nativeSlack-1)*100),
		"¹ Values marked ¹ are the minimal C tracer, not herd: a seccomp filter with SECCOMP_RET_TRACE for kill " +
			"and ALLOW for all else, every stop resumed with PTRACE_CONT. On getpid it shows what any seccomp filter costs an " +
			"untrapped call; on kill, its extra cost over native is one raw ptrace seccomp stop on this machine, and the design " +
			"allows herd that plus 1 µs per trapped call.",
		fmt.Sprintf("² Wall time of the whole process as its parent sees it, median of %d; native is /bin/true run directly. "+
			"The design's figure for gVisor `runsc` on this machine is ≈%s (runsc is not installed here), so the target is %s.",
			startReps, millis(runscStartNs), millis(runscStartNs/10)),
		"³ Values marked ³ are the minimal C user-notification supervisor, not herd: a seccomp filter with " +
			"SECCOMP_RET_USER_NOTIF for kill and ALLOW for all else; a supervisor thread in another process receives each " +
			"notification (SECCOMP_IOCTL_NOTIF_RECV) and answers it at once (SECCOMP_IOCTL_NOTIF_SEND), either with a value " +
			"(the call is skipped, as an emulated call is answered) or with SECCOMP_USER_NOTIF_FLAG_CONTINUE (the kernel " +
			"runs the call), with or without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6).",
		extraNote(r),
		"⁴ herd answers getppid through seccomp user notification (value + sync wake-up) on Linux 6.6 or later; " +
			"its target is the native call plus the extra cost of the C value + sync wake-up round trip plus 1 µs.",
	}
	return rep
}

// extraNote sums up the kill row: what one trapped call adds to a native
// one under each mechanism and under herd.
func extraNote(r *results) string {
	kn := r.med("kill", "native")
	extra := func(runner string) string { return micros(r.med("kill", runner) - kn) }
	parts := []string{"ptrace stop (C): " + extra("tracer")}
	for _, v := range notifVariants {
		parts = append(parts, "user-notif (C) "+v.label()+": "+extra(v.name()))
	}
	parts = append(parts, "herd: "+extra("herd"))
	return "Extra cost of one trapped kill over the native call, medians of this run: " + strings.Join(parts, "; ") + "."
}

func (rep *report) machineLine() string {
	s := fmt.Sprintf("machine: %s, nproc %d, kernel %s", rep.m.cpu, rep.m.nproc, rep.m.kernel)
	if rep.m.load != "" {
		s += ", load average " + rep.m.load + " at start"
	}
	return s
}

// text renders the table for a terminal: first column left-aligned, the
// rest right-aligned, widths counted in runes.
func (rep *report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "herd bench — %s\nherd: %s\n\n", rep.machineLine(), rep.m.herd)
	all := append([][]string{header}, rep.rows...)
	widths := make([]int, len(header))
	for _, row := range all {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			case i == len(row)-1:
				b.WriteString("  " + c)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	line(header)
	rule := make([]string, len(header))
	for i := range rule {
		rule[i] = strings.Repeat("─", widths[i])
	}
	line(rule)
	for _, row := range rep.rows {
		line(row)
	}
	b.WriteString("\n")
	for _, n := range rep.notes {
		b.WriteString(n + "\n")
	}
	for _, t := range rep.traces {
		b.WriteString("\n" + t)
	}
	fmt.Fprintf(&b, "(measured in %s)\n", rep.elapsed.Round(time.Second))
	return b.String()
}

// markdown renders the same table as a page for docs/benchmarks.md.
func (rep *report) markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Generated by `make bench` (`conformance/bench`); do not edit by hand. " +
		"Ratios are measured in one run; compare them, not absolute times, across machines.\n\n")
	fmt.Fprintf(&b, "%s. herd %s. Taken %s.\n\n", rep.machineLine(), rep.m.herd, time.Now().UTC().Format("2006-01-02"))
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("| --- |" + strings.Repeat(" ---: |", len(header)-2) + " :---: |\n")
	for _, row := range rep.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = strings.ReplaceAll(strings.TrimSpace(c), "|", `\|`)
		}
		if strings.HasPrefix(row[0], "  ") {
			cells[0] = "↳ " + cells[0]
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n")
	for _, n := range rep.notes {
		b.WriteString(n + "\n\n")
	}
	for _, t := range rep.traces {
		b.WriteString(t + "\n")
	}
	return b.String()
}

// nanos formats ns with thousands separators, keeping one decimal for small
// values.
func nanos(ns float64) string {
	if ns < 1000 {
		return fmt.Sprintf("%.1f", ns)
	}
	s := fmt.Sprintf("%d", int64(math.Round(ns)))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func micros(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1e3) }

func millis(ns float64) string { return fmt.Sprintf("%.0f ms", ns/1e6) }

func countList(counts map[string]int) string {
	var parts []string
	for _, b := range loopBenches {
		parts = append(parts, fmt.Sprintf("%s %d", b.prog, counts[b.prog]))
	}
	return strings.Join(parts, ", ")
}
