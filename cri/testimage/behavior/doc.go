// Package behavior holds the command language of clusterkit's test image
// (ckimage) and the code both runtimes share to act it out.
//
// The real test image (cri/testimage/cmd/ckimage, run by containerd) and the
// simulated CRI runtime (cri/simruntime) both parse a container's argv with
// Parse and serve HTTP with NewServer, so one pod spec behaves alike on both:
// same exit codes, same delays, same log lines, same HTTP answers, same exec
// results.
//
// Commands (argv[0] is "ckimage" or "/ckimage"; durations are Go durations
// or plain seconds):
//
//	ckimage serve-hostname [--port 8080] [--grpc-port P] [--fail-after D] [--ready-after D]
//	    serve HTTP: / and /hostname answer the hostname, /clientip the
//	    address the connection came from, /healthz answers 200
//	    until fail-after has passed since start (or POST /fail was called),
//	    then 500; /readyz answers 503 until ready-after, then 200,
//	    and 503 again after POST /unready (until POST /ready);
//	    /exit?code=N makes the process exit with code N; /log?msg=TEXT
//	    prints TEXT on the process's stdout (a recorder); with --grpc-port,
//	    grpc.health.v1 on port P answers SERVING (service "" or "ckimage")
//	    while /healthz answers 200, else NOT_SERVING.
//	ckimage liveness --fail-after D [--port 8080]
//	    serve-hostname whose /healthz starts failing after D.
//	ckimage exit [--code 0] [--after 0s] [--print LINE]... [--write PATH --text TEXT]
//	    print a line (or the --print lines), write TEXT to the file PATH
//	    (e.g. /dev/termination-log), wait, exit with the code ("crash after a
//	    delay").
//	ckimage sleep D
//	    sleep D, then exit 0.
//	ckimage logs [--lines 10]
//	    print "line 1" … "line N" to stdout, then stay running.
//	ckimage pause
//	    stay running (what any unknown image does in the simulator).
//
// Long-running commands accept --term-delay D (on SIGTERM wait D, then exit
// 0), --ignore-term (only SIGKILL ends the process: exit code 137) and
// --term-fetch URL (when leaving because of SIGTERM, after the delay, GET the
// http:// URL first, answer ignored, trying again while no answer came, at most
// TermFetchTimeout). Without them SIGTERM ends the process at once with exit
// code 0.
//
// Exec commands (ExecSync, exec probes):
//
//	ckimage true | false | hostname | echo ARGS... | exit --code N
//	ckimage healthz [--port 8080] [--path /healthz]   exit 0 when the
//	    container's HTTP endpoint answers 2xx/3xx, else 1
//	ckimage fetch URL [--timeout 5s]   GET an http:// URL (e.g. a Service's
//	    ClusterIP) from the container's network: the body on stdout and
//	    exit 0 on 2xx/3xx, else the status or error on stderr and exit 1;
//	    with --count N: N GETs on new connections, one line each (the
//	    body, or "error: " and why), exit 0 when all succeeded
//	ckimage post [--port 8080] PATH   POST to the container's own HTTP
//	    port (e.g. /unready, /fail): exit 0 on 2xx/3xx
//	ckimage sleep D
//	ckimage cat PATH...   print files (exit 1 when one is missing)
//	ckimage env   print the environment, KEY=VALUE lines
//	ckimage touch PATH   create or truncate a file (exit 1 with the error,
//	    e.g. a read-only file system or volume)
//	ckimage write PATH [TEXT...]   write TEXT (words joined by spaces, no
//	    newline) to PATH, mode 0644; the simulator writes through the
//	    container's mounts to the node's files, so another container of
//	    the pod mounting the same volume reads it
//	ckimage fill PATH BYTES   write BYTES bytes ("x"s, at most 64 MiB) to PATH,
//	    mode 0644, through the container's mounts as write does
//	ckimage stat PATH   print "MODE UID GID" (MODE as Go prints a FileMode)
//	ckimage statfs PATH   print "TYPE BYTES" of the file system holding PATH
//	    (tmpfs, overlay, ext4, xfs, btrfs or the magic number)
//	ckimage rm PATH   remove a file or a directory with its content
//	ckimage cgroup   print the container's limits as its cgroup holds them:
//	    "cpu.max QUOTA PERIOD" and "memory.max BYTES" ("max": no limit), from
//	    cgroup v2 or v1 files; the simulator shows v1 files made from the
//	    resources the container was created with or last updated to
//	ckimage resolve NAME [--type A] [--timeout 5s]   ask the nameservers of
//	    /etc/resolv.conf one question as a stub resolver does (search list
//	    and ndots for a name without a final dot): ";rcode RCODE",
//	    ";name NAME" (the name that was answered) then one line per answer
//	    record, "TYPE TTL DATA" (A 30 10.96.0.1, SRV 30 0 100 80
//	    web.ns.svc.cluster.local., CNAME 30 target.); exit 0 when a nameserver
//	    answered, else 1
//
// An exec command given as a container's main process runs once: its output is
// the container's log and its exit code the container's.
package behavior
