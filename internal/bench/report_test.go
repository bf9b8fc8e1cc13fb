package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// fixture has two latencies and two sizes; the bare client ran only at 0 ms
// and the recipe only at 20 ms.
func fixture() *Results {
	res := &Results{
		Date: "2026-01-02T03:04:05Z", Machine: Machine{Uname: "Linux 6.1 x86_64", CPU: "Test CPU", Cores: 2},
		GoVersion: "go1.26", N: 3, BinaryBytes: 8 << 20, PeakRSSBytes: 16 << 20,
		Startup: Summary{Median: 2, Min: 1, P90: 3, Max: 4, Runs: 5},
		Keeper:  &KeeperResult{Seconds: 150, Refreshes: 5, RSSBytes: 10 << 20, AnonBytes: 5 << 19, CPUMS: 40, IdlePerMinute: 1.5, PerRefresh: 160},
	}
	for _, lat := range []float64{0, 20} {
		for _, n := range []int{1, 16} {
			c := Case{Tool: ToolHFOIDC, LatencyMS: lat, Resources: n, FloorMS: 2 * lat, TrueFloorMS: 4 * lat,
				Wall: Summary{Median: 2*lat + float64(n), Min: 2 * lat, P90: 2*lat + float64(n) + 1, Max: 2*lat + float64(n) + 2, Runs: 3}}
			if lat > 0 {
				c.Ratio = c.Wall.Median / c.TrueFloorMS
				c.CPU = &Summary{Median: 5 + float64(n)/10, Runs: 3}
			}
			res.Cases = append(res.Cases, c)
			if lat == 0 {
				res.Cases = append(res.Cases, Case{Tool: ToolBare, LatencyMS: lat, Resources: n,
					Wall: Summary{Median: float64(n) / 2, Min: 0.25, P90: float64(n), Max: float64(n), Runs: 3}})
			}
			if lat > 0 {
				res.Cases = append(res.Cases, Case{Tool: ToolRecipe, LatencyMS: lat, Resources: n, FloorMS: 2 * lat, TrueFloorMS: 4 * lat,
					Wall: Summary{Median: 50 * float64(n), Min: 1, P90: 1, Max: 50 * float64(n), Runs: 3}, Ratio: 50 * float64(n) / (4 * lat)})
			}
		}
	}
	return res
}

type svgElem struct {
	name  string
	attrs map[string]string
}

func parseSVG(t *testing.T, b []byte) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var elems []svgElem
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return elems
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			e := svgElem{name: se.Name.Local, attrs: map[string]string{}}
			for _, a := range se.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			elems = append(elems, e)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	elems := parseSVG(t, buf.Bytes())
	if len(elems) == 0 || elems[0].name != "svg" {
		t.Fatalf("chart does not start with <svg>: %.80s", buf.String())
	}
	count := map[string]int{}
	dashed := 0
	for _, e := range elems {
		count[e.name]++
		if e.name == "line" && e.attrs["stroke-dasharray"] != "" {
			dashed++
		}
		if e.name == "circle" {
			cy, err := strconv.ParseFloat(e.attrs["cy"], 64)
			if err != nil || cy < padT-0.01 || cy > panelH-padB+0.01 {
				t.Errorf("point at cy=%q lies outside its plot (%g to %g)", e.attrs["cy"], padT, panelH-padB)
			}
		}
	}
	// hf-oidc: 2 points per panel; the bare client 2 in the 0 ms panel and
	// the recipe 2 in the 20 ms one.
	if count["circle"] != 8 {
		t.Errorf("%d points, want 8", count["circle"])
	}
	if count["polyline"] != 4 {
		t.Errorf("%d median lines, want 4 (hf-oidc in both panels, the bare client and the recipe in one each)", count["polyline"])
	}
	// The 20 ms panel's two floors and the legend's; none for 0 ms.
	if dashed != 4 {
		t.Errorf("%d dashed lines, want 4", dashed)
	}
	for _, want := range []string{"round trip 0 ms", "round trip 20 ms", "curl+jq median", "bare Go client median", ">true floor<", "old floor (2 round trips)", "ms (log)", ">1000</text>"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, &Results{}); err != nil {
		t.Fatal(err)
	}
	parseSVG(t, buf.Bytes())
}

func TestWriteMarkdown(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	var rows []string
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, " ms |") {
			rows = append(rows, line)
		}
	}
	want := []string{
		"| 0 ms | 1 | 1.0 | 0.0 | 2.0 | 3.0 | – | 0 | 0 | – | 0.5 | – | +0.5 | – | – | – |",
		"| 0 ms | 16 | 16.0 | 0.0 | 17.0 | 18.0 | – | 0 | 0 | – | 8.0 | – | +8.0 | – | – | – |",
		"| 20 ms | 1 | 41.0 | 40.0 | 42.0 | 43.0 | 5.1 | 40 | 80 | 0.51 | – | – | – | 50.0 | 0.62 | 1.2 |",
		"| 20 ms | 16 | 56.0 | 40.0 | 57.0 | 58.0 | 6.6 | 40 | 80 | 0.70 | – | – | – | 800.0 | 10.00 | 14.3 |",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("table rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range []string{"2026-01-02T03:04:05Z", "Linux 6.1 x86_64", "Test CPU", "2 cores", "median 2.00 ms", "16.0 MiB", "8.0 MiB",
		"- 16 resources at 20 ms: 56.0 ms, 0.70× the true floor of 80 ms: met\n",
		"watched 150 s, 5 refreshes): RSS at most 10.0 MiB, of which 2.5 MiB its own memory", "CPU 40 ms in all; 1.5 context switches a minute between refreshes, 160 around each refresh\n"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	in := fixture()
	if err := WriteJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	var out Results
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	c, ok := out.Find(ToolRecipe, 20, 16)
	if !ok || c.Wall.Median != 800 || c.Ratio != 10 || c.TrueFloorMS != 80 {
		t.Errorf("recipe at 20 ms, 16 resources after a round trip: %+v, %v", c, ok)
	}
}

// TestTargets: a target covers hf-oidc at a round trip above zero with 16
// resources or more, and is met at most TargetRatio times the true floor.
func TestTargets(t *testing.T) {
	t.Parallel()
	res := &Results{Cases: []Case{
		{Tool: ToolHFOIDC, LatencyMS: 50, Resources: 16, TrueFloorMS: 200, Ratio: 1.1, Wall: Summary{Median: 220}},
		{Tool: ToolHFOIDC, LatencyMS: 100, Resources: 64, TrueFloorMS: 400, Ratio: 1.2, Wall: Summary{Median: 480}},
		{Tool: ToolHFOIDC, LatencyMS: 50, Resources: 4, TrueFloorMS: 200, Ratio: 2, Wall: Summary{Median: 400}},
		{Tool: ToolHFOIDC, LatencyMS: 0, Resources: 64, Wall: Summary{Median: 30}},
		{Tool: ToolBare, LatencyMS: 50, Resources: 16, TrueFloorMS: 200, Ratio: 1.7, Wall: Summary{Median: 340}},
	}}
	want := []string{
		"16 resources at 50 ms: 220.0 ms, 1.10× the true floor of 200 ms: met",
		"64 resources at 100 ms: 480.0 ms, 1.20× the true floor of 400 ms: not met",
	}
	if got := Targets(res); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTrueFloor: over TLS the mint takes three round trips (connect,
// handshake, request) while the Hub's connection takes two, then one for
// the exchanges; over plain http, two and one, then one.
func TestTrueFloor(t *testing.T) {
	t.Parallel()
	if got := trueFloor(50, true); got != 200 {
		t.Errorf("trueFloor(50 ms, TLS) = %g, want 200", got)
	}
	if got := trueFloor(50, false); got != 150 {
		t.Errorf("trueFloor(50 ms, plain) = %g, want 150", got)
	}
}
