package main

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
	"testing"
)

// FuzzTrainFlags parses arbitrary command lines of `biotrain train` (arguments separated by "\x00"): no
// panic, and a rejected command line gets an error that names one of the flags or values given.
func FuzzTrainFlags(f *testing.F) {
	for _, s := range []string{"", "-epochs\x000", "-dampening_factor\x001.5", "-fuzzy_lr_distribution=zipf",
		"-set\x00bio_nope=1", "-config\x00/nonexistent.json", "-resume", "-baseline\x00-crystallize",
		"-weight_splitting_activation_function\x00ReLU6()", "-seed\x00-3\x00-lr\x00NaN", "-save-every\x00-1s", "extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		if line == "" {
			args = nil
		}
		_, err := parseTrain(args, io.Discard, io.Discard)
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return
		}
		msg := err.Error()
		if strings.HasPrefix(msg, "unexpected arguments [") { // they are listed, quoted
			return
		}
		names := func(s string) bool { // s itself or as %q writes it
			return s != "" && (strings.Contains(msg, s) || strings.Contains(msg, strings.Trim(strconv.Quote(s), `"`)))
		}
		for _, a := range args {
			name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if names(a) || names(name) || names(value) {
				return
			}
		}
		t.Fatalf("%q: error %q names none of the arguments", args, msg)
	})
}
