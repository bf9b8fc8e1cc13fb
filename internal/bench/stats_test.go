package bench

import (
	"testing"
	"time"
)

func ms(vs ...float64) []time.Duration {
	ds := make([]time.Duration, len(vs))
	for i, v := range vs {
		ds[i] = time.Duration(v * float64(time.Millisecond))
	}
	return ds
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []time.Duration
		want Summary
	}{
		{"none", nil, Summary{}},
		{"one", ms(7), Summary{Median: 7, Min: 7, P90: 7, Max: 7, Runs: 1}},
		{"odd, unsorted", ms(3, 1, 2), Summary{Median: 2, Min: 1, P90: 3, Max: 3, Runs: 3}},
		{"even takes the mean of the middle two", ms(4, 1, 3, 2), Summary{Median: 2.5, Min: 1, P90: 4, Max: 4, Runs: 4}},
		{"p90 is the nearest rank", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), Summary{Median: 5.5, Min: 1, P90: 9, Max: 10, Runs: 10}},
		{"p90 of eleven", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100), Summary{Median: 6, Min: 1, P90: 10, Max: 100, Runs: 11}},
		{"sub-millisecond", []time.Duration{500 * time.Microsecond, 1500 * time.Microsecond}, Summary{Median: 1, Min: 0.5, P90: 1.5, Max: 1.5, Runs: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Summarize(tt.in); got != tt.want {
				t.Errorf("Summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}
