package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes where the figures were measured.
type Machine struct {
	Uname string `json:"uname"`
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
}

// ThisMachine reads `uname -srm` and the CPU model from /proc/cpuinfo; a
// field it cannot read stays empty.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	if out, err := exec.Command("uname", "-srm").Output(); err == nil {
		m.Uname = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
