#!/usr/bin/env python3
"""Worker-process scaling of the `cogman` binary, measured (docs/scaling.md).

For each worker count (default 1, 2, 4) on a fresh queue prefix and Redis namespace: one
`cogman send noop --each-line` process pre-fills TASKS tasks, then N `cogman worker` processes
(shell handler `noop=true`, --concurrency C) drain them. Prints the drain rate (tasks/s from the
first finished attempt to the last, counted from the workers' per-attempt stdout lines)
and the CPU split of the drain: the worker processes with their handler shells, RabbitMQ
(beam.smp) and Redis, found by the port they listen on, in CPU microseconds per task, plus the
load average before and after (the servers are shared: other processes' work shows up in their
CPU). Each point runs on a RabbitMQ vhost of its own (`rabbitmqctl add_vhost`, deleted with its
queues when done) and a Redis namespace of its own (its keys deleted when done).

Usage: scripts/scale-workers.py [--cogman target/release/cogman] [--tasks 2000]
                                [--workers 1,2,4] [--concurrency 16] [--amqp URI] [--redis URI]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

TICKS = os.sysconf("SC_CLK_TCK")


def listening_pid(port):
    """The pid of the process listening on TCP `port` (via /proc/net/tcp inodes), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def cpu_seconds(pid, children=False):
    """utime + stime of `pid` (and, with `children`, of its reaped children), in seconds."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def port_of(uri, default):
    return urllib.parse.urlparse(uri).port or default


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", *args], capture_output=True, check=True)


def on_vhost(amqp, vhost):
    """`amqp` with its vhost replaced by `vhost`."""
    parsed = urllib.parse.urlparse(amqp)
    return urllib.parse.urlunparse(parsed._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def delete_keys(redis, namespace):
    port = str(port_of(redis, 6379))
    keys = subprocess.run(
        ["redis-cli", "-p", port, "--scan", "--pattern", f"{namespace}:*"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    for start in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-p", port, "del", *keys[start:start + 500]],
                       capture_output=True, check=True)


def run_point(args, workers, servers):
    name = f"scale{workers}_{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGMAN_")}
    env.update(COGMAN_AMQP_URI=on_vhost(args.amqp, name), COGMAN_REDIS_URI=args.redis,
               COGMAN_REDIS_NAMESPACE=name)
    # A vhost of its own, deleted at the end with every queue and exchange cogman declared.
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, urllib.parse.urlparse(args.amqp).username,
                ".*", ".*", ".*")
    with tempfile.TemporaryDirectory() as scratch:
        payloads = os.path.join(scratch, "payloads")
        with open(payloads, "w") as f:
            f.writelines(f"{i}\n" for i in range(args.tasks))
        started = time.monotonic()
        subprocess.run([args.cogman, "send", "noop", "--each-line", payloads], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        send_rate = args.tasks / (time.monotonic() - started)
        outs = [os.path.join(scratch, f"worker-{i}.out") for i in range(workers)]
        load_before = os.getloadavg()[0]
        server_cpu = {k: cpu_seconds(pid) for k, pid in servers.items()}
        started = time.monotonic()
        procs = [subprocess.Popen([args.cogman, "worker", "--handler", "noop=true",
                                   "--concurrency", str(args.concurrency)],
                                  env=env, stdout=open(out, "w"), stderr=subprocess.DEVNULL)
                 for out in outs]
        try:
            # The rate runs from the first finished attempt to the last, so the processes'
            # start-up (connecting, declaring) is not in it.
            deadline, first = started + args.deadline, None
            while (done := sum(open(o).read().count("\n") for o in outs)) < args.tasks:
                if time.monotonic() > deadline:
                    sys.exit(f"{workers} workers did not finish {args.tasks} tasks in time")
                if first is None and done > 0:
                    first = (time.monotonic(), done)
                time.sleep(0.05)
            first = first or (started, 0)
            elapsed = time.monotonic() - first[0]
            drained = args.tasks - first[1]
            # The workers reap their handler shells as they end, so the shells' CPU is in the
            # workers' children times by now.
            worker_cpu = sum(cpu_seconds(p.pid, children=True) for p in procs)
            server_cpu = {k: cpu_seconds(servers[k]) - v for k, v in server_cpu.items()}
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait()
        load_after = os.getloadavg()[0]
        rabbitmqctl("delete_vhost", name)
        delete_keys(args.redis, name)
    per_task = lambda seconds: round(seconds * 1e6 / args.tasks)
    return {
        "workers": workers,
        "concurrency": args.concurrency,
        "tasks": args.tasks,
        "drain_tasks_per_s": round(drained / elapsed),
        "send_tasks_per_s_one_client": round(send_rate),
        "cpu_us_per_task": {"workers_and_handlers": per_task(worker_cpu),
                            **{k: per_task(v) for k, v in server_cpu.items()}},
        "load_average": [round(load_before, 1), round(load_after, 1)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cogman", default="target/release/cogman")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--deadline", type=float, default=600)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2f")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args()
    servers = {"rabbitmq": listening_pid(port_of(args.amqp, 5672)),
               "redis": listening_pid(port_of(args.redis, 6379))}
    servers = {k: v for k, v in servers.items() if v is not None}
    for workers in map(int, args.workers.split(",")):
        print(json.dumps(run_point(args, workers, servers)), flush=True)


if __name__ == "__main__":
    main()
