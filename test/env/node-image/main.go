// ps-tiny: the one static binary of the test environment's locally built images (test/env/node-image.ts).
// No registry is reachable, so the pause (sandbox) image and the test images are built from this, standard
// library only. Subcommands:
//
//	pause           the Pod sandbox's process: sleeps until SIGTERM/SIGINT, reaps zombies (it is pid 1)
//	echo WORDS...   prints WORDS and exits 0 (a Pod that runs to completion)
//	list-configmaps lists the ConfigMaps of its own namespace through the `kubernetes` Service with the mounted
//	                ServiceAccount token, as an in-cluster client does, and prints their names
//	alloc MIB       allocates and touches MIB MiB, then exits 0 (a Pod over its memory limit is OOM-killed first)
//	serve PORT TEXT serves TEXT on :PORT (GET /), for probes and Pod-to-Pod checks
//	http-get URL    prints the body of GET URL (exit 1 on a non-200): a Pod reaching a host service the node
//	                exposes (TestNode.exposeHostPort)
//	consume [--once] env:NAME|file:PATH...
//	                a consumer as the product's users run them: reads each env var / file ONCE at start, prints
//	                "<what> sha256:<first 16 hex>" per item (a digest, never the value: no secret reaches a Pod
//	                log), then sleeps until SIGTERM (or exits 0 with --once, a bootstrap Job). A file that does not
//	                exist yet is waited for (a sidecar writes it) for up to 60 s.
package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ps-tiny pause | echo WORDS... | alloc MIB | serve PORT TEXT | list-configmaps | http-get URL | consume [--once] env:NAME|file:PATH...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pause":
		pause()
	case "echo":
		fmt.Println(strings.Join(os.Args[2:], " "))
	case "alloc":
		n, err := strconv.Atoi(strings.Join(os.Args[2:], ""))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "usage: ps-tiny alloc MIB")
			os.Exit(2)
		}
		alloc(n)
	case "serve":
		if len(os.Args) != 4 {
			fmt.Fprintln(os.Stderr, "usage: ps-tiny serve PORT TEXT")
			os.Exit(2)
		}
		text := os.Args[3]
		err := http.ListenAndServe(":"+os.Args[2], http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, text) }))
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	case "http-get":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: ps-tiny http-get URL")
			os.Exit(2)
		}
		if err := httpGet(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "http-get:", err)
			os.Exit(1)
		}
	case "consume":
		once := len(os.Args) > 2 && os.Args[2] == "--once"
		items := os.Args[2:]
		if once {
			items = os.Args[3:]
		}
		if err := consume(items); err != nil {
			fmt.Fprintln(os.Stderr, "consume:", err)
			os.Exit(1)
		}
		if !once {
			pause()
		}
	case "list-configmaps":
		if err := listConfigMaps(); err != nil {
			fmt.Fprintln(os.Stderr, "list-configmaps:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
}

func pause() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}

func listConfigMaps() error {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return fmt.Errorf("KUBERNETES_SERVICE_HOST/PORT not set: not running in a Pod")
	}
	token, err := os.ReadFile(saDir + "/token")
	if err != nil {
		return err
	}
	ns, err := os.ReadFile(saDir + "/namespace")
	if err != nil {
		return err
	}
	caPem, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPem) {
		return fmt.Errorf("%s/ca.crt holds no certificate", saDir)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + net.JoinHostPort(host, port) + "/api/v1/namespaces/" + string(ns) + "/configmaps"
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: HTTP %d %s", url, resp.StatusCode, body)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return err
	}
	fmt.Printf("via %s:%s namespace %s configmaps:", host, port, ns)
	for _, it := range list.Items {
		fmt.Printf(" %s", it.Metadata.Name)
	}
	fmt.Println()
	return nil
}

func httpGet(url string) error {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: HTTP %d %s", url, resp.StatusCode, body)
	}
	fmt.Print(string(body))
	return nil
}

// Held in a global so the allocation cannot be optimized away before the kernel charges it.
var held [][]byte

func alloc(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
	fmt.Printf("allocated %d MiB\n", len(held))
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])[:16]
}

func consume(items []string) error {
	if len(items) == 0 {
		return fmt.Errorf("usage: ps-tiny consume [--once] env:NAME|file:PATH...")
	}
	for _, it := range items {
		kind, name, ok := strings.Cut(it, ":")
		switch {
		case ok && kind == "env":
			v, set := os.LookupEnv(name)
			if !set {
				return fmt.Errorf("env %s is not set", name)
			}
			fmt.Printf("env:%s %s\n", name, digest([]byte(v)))
		case ok && kind == "file":
			var b []byte
			var err error
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
				if b, err = os.ReadFile(name); err == nil || !os.IsNotExist(err) || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				return err
			}
			fmt.Printf("file:%s %s uid=%d\n", name, digest([]byte(strings.TrimSpace(string(b)))), os.Getuid())
		default:
			return fmt.Errorf("%q is neither env:NAME nor file:PATH", it)
		}
	}
	return nil
}
