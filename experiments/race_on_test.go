//go:build race

package experiments

// raceDetector reports whether the tests run under the race detector.
const raceDetector = true
