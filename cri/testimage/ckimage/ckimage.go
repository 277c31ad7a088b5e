package ckimage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// Main runs the program with os.Args and exits with its status.
func Main() { os.Exit(Run(os.Args)) }

// Run runs the program with argv (argv[0] is ignored) and returns its exit status.
func Run(argv []string) int {
	if len(argv) > 0 {
		argv = append([]string{"ckimage"}, argv[1:]...)
	}
	b, err := behavior.Parse(argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return behavior.UsageExitCode
	}
	hostname, _ := os.Hostname()
	if !b.RunsAsMain() {
		res, err := behavior.Exec(context.Background(), argv, behavior.ExecEnv{Hostname: hostname, HTTPHost: "127.0.0.1", TestImage: true, ReadFile: os.ReadFile, Environ: os.Environ()})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 127
		}
		fmt.Fprint(os.Stdout, res.Stdout)
		fmt.Fprint(os.Stderr, res.Stderr)
		return res.ExitCode
	}
	return runMain(b, hostname)
}

func runMain(b behavior.Behavior, hostname string) int {
	start := time.Now()
	done := make(chan int, 1)
	exit := func(code int) {
		select {
		case done <- code:
		default:
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for range sigs {
			if b.IgnoreTerm {
				continue
			}
			time.Sleep(b.TermDelay)
			behavior.FetchOnTerm(context.Background(), b, nil)
			fmt.Println(behavior.TermLine)
			exit(0)
		}
	}()
	for _, l := range b.StartLines(hostname) {
		fmt.Println(l)
	}
	if b.WritePath != "" {
		if err := os.WriteFile(b.WritePath, []byte(b.WriteText), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if b.Kind == behavior.Serve {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(b.Port))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		handler := behavior.NewServer(b, hostname, start, exit)
		var printMu sync.Mutex
		handler.SetPrint(func(line string) {
			printMu.Lock()
			defer printMu.Unlock()
			fmt.Println(line)
		})
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, err)
				exit(1)
			}
		}()
		if b.GRPCPort > 0 {
			gln, err := net.Listen("tcp", ":"+strconv.Itoa(b.GRPCPort))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			g := behavior.NewGRPCHealthServer(handler)
			go func() {
				if err := g.Serve(gln); err != nil {
					fmt.Fprintln(os.Stderr, err)
					exit(1)
				}
			}()
		}
	}
	if after, code, ends := b.Ends(); ends {
		time.AfterFunc(after, func() { exit(code) })
	}
	return <-done
}
