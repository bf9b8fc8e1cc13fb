package bench

import (
	"math"
	"slices"
	"time"
)

// A Summary is the spread of repeated measurements, in milliseconds so that
// the JSON reads without unit conversion.
type Summary struct {
	Median float64 `json:"median_ms"`
	Min    float64 `json:"min_ms"`
	P90    float64 `json:"p90_ms"`
	Max    float64 `json:"max_ms"`
	Runs   int     `json:"runs"`
}

// Summarize returns the median, minimum, 90th percentile (nearest rank) and
// maximum of ds. The zero Summary stands for no measurements.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	n := len(ms)
	median := ms[n/2]
	if n%2 == 0 {
		median = (ms[n/2-1] + ms[n/2]) / 2
	}
	return Summary{
		Median: median,
		Min:    ms[0],
		P90:    ms[int(math.Ceil(0.9*float64(n)))-1],
		Max:    ms[n-1],
		Runs:   n,
	}
}
