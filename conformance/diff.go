package conformance

import "strings"

// LineDiff is a small LCS line diff of a native run's output (-) against
// herd's (+), for failure messages; outputs are a few dozen lines. Every
// line of the result starts with indent.
func LineDiff(native, herd, indent string) string {
	x := strings.Split(strings.TrimSuffix(native, "\n"), "\n")
	y := strings.Split(strings.TrimSuffix(herd, "\n"), "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	sb.WriteString(indent + "--- native\n" + indent + "+++ herd\n")
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			sb.WriteString(indent + "  " + x[i] + "\n")
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString(indent + "+ " + y[j] + "\n")
			j++
		default:
			sb.WriteString(indent + "- " + x[i] + "\n")
			i++
		}
	}
	return sb.String()
}
