package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// WriteMarkdown writes the results as a table with the machine and date.
func WriteMarkdown(w io.Writer, res *Results) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s, %s, %d cores, %s; %d runs per case", res.Date, res.Machine.Uname, res.Machine.CPU, res.Machine.Cores, res.GoVersion, res.N)
	if res.RecipeN > 0 && res.RecipeN != res.N {
		fmt.Fprintf(&b, " (%d for curl+jq)", res.RecipeN)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "- start-up (`hf-oidc version`): median %.2f ms (min %.2f, p90 %.2f, max %.2f; %d runs)\n",
		res.Startup.Median, res.Startup.Min, res.Startup.P90, res.Startup.Max, res.Startup.Runs)
	if res.RSSNote != "" {
		fmt.Fprintf(&b, "- %s\n", res.RSSNote)
	} else {
		fmt.Fprintf(&b, "- peak RSS of an exchange (GNU time, the largest of any case): %.1f MiB\n", float64(res.PeakRSSBytes)/(1<<20))
	}
	fmt.Fprintf(&b, "- binary size (static, stripped): %.1f MiB\n", float64(res.BinaryBytes)/(1<<20))
	if res.RootsNote != "" {
		fmt.Fprintf(&b, "- %s\n", res.RootsNote)
	}
	if k := res.Keeper; k != nil {
		fmt.Fprintf(&b, "- detached keeper (`hf-oidc refresh --detach`, one token refreshed every %s, watched %.0f s, %d refreshes): RSS at most %.1f MiB, of which %.1f MiB its own memory and the rest the binary's pages (page cache); CPU %.0f ms in all; %.1f context switches a minute between refreshes, %.0f around each refresh\n",
			keeperLifetime-keeperMargin, k.Seconds, k.Refreshes, float64(k.RSSBytes)/(1<<20), float64(k.AnonBytes)/(1<<20), k.CPUMS, k.IdlePerMinute, k.PerRefresh)
	} else if res.KeeperNote != "" {
		fmt.Fprintf(&b, "- %s\n", res.KeeperNote)
	}
	if res.RecipeNote != "" {
		fmt.Fprintf(&b, "- %s\n", res.RecipeNote)
	}
	b.WriteString("\nWall time from start to exported tokens, in ms. At a round trip above zero every connection goes through a delaying proxy, one per host (the provider's ID-token service on " + issuerHost + ", the Hub on " + hubHost + "), so that TCP connects, TLS 1.3 and HTTP/2 pay their round trips as on a network (see internal/bench/doc.go). ")
	b.WriteString("The old floor is two round trips (one mint, one exchange round) as if connections were free; the true floor is the mint (connect, TLS, request) or the Hub's connection set-up (connect, TLS) made meanwhile, whichever is longer, plus one exchange round trip: 4 round trips over TLS. × floor is the median over the true floor. CPU is hf-oidc's own (user + system, median). ")
	b.WriteString("The bare Go client (`internal/bench/bare`) makes the same requests over Go's default client and does nothing else (no retries, checks, diagnostics or configuration, and no connection made ahead); hf-oidc − bare is what hf-oidc's care costs, or saves. ")
	b.WriteString("Every case ran in the same rounds, round robin, so that load from elsewhere on the machine falls on all of them alike.\n\n")
	b.WriteString("| round trip | resources | hf-oidc median | min | p90 | max | CPU | old floor | true floor | × floor | bare Go median | × floor | hf-oidc − bare | curl+jq median | × floor | curl+jq / hf-oidc |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range res.Cases {
		if c.Tool != ToolHFOIDC {
			continue
		}
		cpu := "–"
		if c.CPU != nil {
			cpu = fmt.Sprintf("%.1f", c.CPU.Median)
		}
		fmt.Fprintf(&b, "| %g ms | %d | %.1f | %.1f | %.1f | %.1f | %s | %g | %g | %s |",
			c.LatencyMS, c.Resources, c.Wall.Median, c.Wall.Min, c.Wall.P90, c.Wall.Max, cpu, c.FloorMS, c.TrueFloorMS, ratio(c.Ratio))
		if r, ok := res.Find(ToolBare, c.LatencyMS, c.Resources); ok {
			fmt.Fprintf(&b, " %.1f | %s | %+.1f |", r.Wall.Median, ratio(r.Ratio), c.Wall.Median-r.Wall.Median)
		} else {
			b.WriteString(" – | – | – |")
		}
		if r, ok := res.Find(ToolRecipe, c.LatencyMS, c.Resources); ok {
			fmt.Fprintf(&b, " %.1f | %s | %.1f |\n", r.Wall.Median, ratio(r.Ratio), r.Wall.Median/c.Wall.Median)
		} else {
			b.WriteString(" – | – | – |\n")
		}
	}
	if targets := Targets(res); len(targets) > 0 {
		b.WriteString("\nTargets (hf-oidc's median at most " + fmt.Sprintf("%.1f", TargetRatio) + "× the true floor, at 16 resources or more), from this one run:\n\n")
		for _, t := range targets {
			fmt.Fprintf(&b, "- %s\n", t)
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
}

// TargetRatio is the most hf-oidc's median may be over the true floor.
const TargetRatio = 1.1

// Targets says, for each hf-oidc case the target covers (a round trip and
// at least 16 resources), whether its median met it.
func Targets(res *Results) []string {
	var out []string
	for _, c := range res.Cases {
		if c.Tool != ToolHFOIDC || c.Ratio == 0 || c.Resources < 16 {
			continue
		}
		verdict := "met"
		if c.Ratio > TargetRatio {
			verdict = "not met"
		}
		out = append(out, fmt.Sprintf("%d resources at %g ms: %.1f ms, %.2f× the true floor of %g ms: %s", c.Resources, c.LatencyMS, c.Wall.Median, c.Ratio, c.TrueFloorMS, verdict))
	}
	return out
}

func ratio(r float64) string {
	if r == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", r)
}

// Chart geometry, in SVG user units.
const (
	panelW, panelH = 270.0, 220.0
	padL, padR     = 60.0, 10.0
	padT, padB     = 30.0, 40.0
)

// WriteSVG draws wall time against resources, one panel per latency (each
// with its own scale), with hf-oidc's median and min–max, the bare client's
// and the recipe's medians, and the floor. hf-oidc is drawn last, on top.
func WriteSVG(w io.Writer, res *Results) error {
	var lats []float64
	var ns []int
	for _, c := range res.Cases {
		if !slices.Contains(lats, c.LatencyMS) {
			lats = append(lats, c.LatencyMS)
		}
		if !slices.Contains(ns, c.Resources) {
			ns = append(ns, c.Resources)
		}
	}
	slices.Sort(lats)
	slices.Sort(ns)
	width := panelW*float64(max(len(lats), 1)) + 10
	height := panelH + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", width, height)
	for i, lat := range lats {
		panel(&b, res, float64(i)*panelW, lat, ns)
	}
	// Legend.
	y := panelH + 18
	fmt.Fprintf(&b, `<line x1="10" y1="%g" x2="30" y2="%g" stroke="#1f77b4" stroke-width="2"/><text x="34" y="%g">hf-oidc median (bar: min–max)</text>`+"\n", y-4, y-4, y)
	fmt.Fprintf(&b, `<line x1="210" y1="%g" x2="230" y2="%g" stroke="#2ca02c" stroke-width="2"/><text x="234" y="%g">bare Go client median</text>`+"\n", y-4, y-4, y)
	fmt.Fprintf(&b, `<line x1="370" y1="%g" x2="390" y2="%g" stroke="#d62728" stroke-width="2"/><text x="394" y="%g">curl+jq median</text>`+"\n", y-4, y-4, y)
	fmt.Fprintf(&b, `<line x1="490" y1="%g" x2="510" y2="%g" stroke="#555" stroke-dasharray="4 3"/><text x="514" y="%g">true floor</text>`+"\n", y-4, y-4, y)
	fmt.Fprintf(&b, `<line x1="590" y1="%g" x2="610" y2="%g" stroke="#aaa" stroke-dasharray="1 3"/><text x="614" y="%g">old floor (2 round trips)</text>`+"\n", y-4, y-4, y)
	b.WriteString("</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	return nil
}

func panel(b *strings.Builder, res *Results, x0, lat float64, ns []int) {
	// A log scale: the recipe is tens of times slower than hf-oidc, which
	// would lie flat on the floor of a linear one.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range res.Cases {
		if c.LatencyMS != lat {
			continue
		}
		for _, v := range []float64{c.Wall.Min, c.Wall.Max, c.FloorMS, c.TrueFloorMS} {
			if v > 0 {
				lo, hi = min(lo, math.Log10(v)), max(hi, math.Log10(v))
			}
		}
	}
	if lo > hi {
		lo, hi = 0, 1
	}
	lo, hi = math.Floor(lo), math.Max(math.Ceil(hi), math.Floor(lo)+1)
	plotW, plotH := panelW-padL-padR, panelH-padT-padB
	px := func(i int) float64 {
		if len(ns) == 1 {
			return x0 + padL + plotW/2
		}
		return x0 + padL + plotW*float64(i)/float64(len(ns)-1)
	}
	py := func(ms float64) float64 {
		l := math.Max(math.Log10(math.Max(ms, 1e-9)), lo)
		return padT + plotH*(1-(l-lo)/(hi-lo))
	}

	fmt.Fprintf(b, `<text x="%g" y="18" font-weight="bold">round trip %g ms</text>`+"\n", x0+padL, lat)
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#ccc"/>`+"\n", x0+padL, padT, plotW, plotH)
	for e := lo; e <= hi; e++ {
		v := math.Pow(10, e)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#eee"/>`+"\n", x0+padL, py(v), x0+padL+plotW, py(v))
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%g</text>`+"\n", x0+padL-4, py(v)+4, v)
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">resources</text>`+"\n", x0+padL+plotW/2, panelH-6)
	fmt.Fprintf(b, `<text x="%g" y="%g" transform="rotate(-90 %g %g)" text-anchor="middle">ms (log)</text>`+"\n", x0+12, padT+plotH/2, x0+12, padT+plotH/2)
	for i, n := range ns {
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="middle">%d</text>`+"\n", px(i), padT+plotH+14, n)
	}
	for _, c := range res.Cases {
		if c.LatencyMS == lat && c.TrueFloorMS > 0 {
			fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", x0+padL, py(c.TrueFloorMS), x0+padL+plotW, py(c.TrueFloorMS))
			fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#aaa" stroke-dasharray="1 3"/>`+"\n", x0+padL, py(c.FloorMS), x0+padL+plotW, py(c.FloorMS))
			break
		}
	}
	for _, tool := range []struct{ name, color string }{{ToolRecipe, "#d62728"}, {ToolBare, "#2ca02c"}, {ToolHFOIDC, "#1f77b4"}} {
		var pts []string
		for i, n := range ns {
			c, ok := res.Find(tool.name, lat, n)
			if !ok {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(i), py(c.Wall.Median)))
			if tool.name == ToolHFOIDC {
				fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", px(i), py(c.Wall.Min), px(i), py(c.Wall.Max), tool.color)
			}
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", px(i), py(c.Wall.Median), tool.color)
		}
		if len(pts) > 1 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), tool.color)
		}
	}
}
