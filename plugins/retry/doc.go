// Package retry is the one retry policy for HTTP requests: which failures
// to try again, and how long to wait before each retry.
package retry
