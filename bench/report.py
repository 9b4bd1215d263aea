"""The benchmark report: Markdown with every figure beside its raw ceiling, the plots, and the
hottest functions of the profiles."""

import re
from collections import Counter
from pathlib import Path
from typing import Any

TARGETS = {
    "fanout_deliveries_per_s": 10_000,
    "fanout_share_of_ceiling": 0.30,
    "half_load_p50_ms": 5.0,
    "half_load_p99_ms": 30.0,
    "ingest_msgs_per_s": 1_000,
    "ingest_ack_p99_ms": 50.0,
    "ingest_share_of_pgbench": 0.25,
    "history_req_per_s": 500,
    "history_p99_ms": 100.0,
    "idle_sockets_mib": 1536,
    "storm_seconds": 20.0,
    "catch_up_p99_ms": 200.0,
    # Memory flat under concurrent uploads: what a server that streams them to disk holds per
    # upload, Django's in-memory spool of a body (FILE_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB) and its
    # buffers, never the file (25 MiB).
    "upload_rss_growth_mib_per_upload": 4.0,
}

# The ways scenario 6 brings a client up to date, as the report names them.
CATCH_UP_WAYS = {
    "socket": "socket: `sync` from the version held",
    "rest": "REST: `GET .../changes/` pages",
    "full": "fresh full load: the chat, every history page, every members page",
}
CHANGE_NAMES = {
    "post": "posts",
    "read": "read markers moved",
    "edit": "edits",
    "delete": "deletes",
    "add": "members added",
    "role": "role changes",
    "remove": "members removed",
}


def profile_top(path: Path, limit: int = 15) -> dict[str, Any]:
    """From py-spy's collapsed stacks: the functions the process spent its samples in (self),
    and those with the most samples anywhere beneath them (inclusive)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"samples": 0, "self": [], "inclusive": []}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        # "function (path/to/file.py:123)" -> "function (file.py)", so lines of one function add up.
        frames = [re.sub(r"\((?:.*/)?([^/:]+)(?::\d+)?\)", r"(\1)", f) for f in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(limit)]

    return {"samples": total, "self": share(own), "inclusive": share(inclusive)}


def capacity(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    sustained = [row for row in rows if row.get("sustained")]
    return max(sustained, key=lambda row: row["offered_deliveries_per_s"], default=None)


def _ingest_capacity(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    good = [
        row
        for row in rows
        if "error" not in row
        and row["lost"] == 0
        and row["out_of_order"] == 0
        and row["ack_ms"]["p99"] <= TARGETS["ingest_ack_p99_ms"]
    ]
    return max(good, key=lambda row: row["acked_msgs_per_s"], default=None)


def _history_capacity(rows: list[dict[str, Any]], before: Any) -> dict[str, Any] | None:
    good = [
        row
        for row in rows
        if row["before"] == before
        and "error" not in row
        and set(row["statuses"]) == {"200"}
        and row["latency_ms"]["p99"] <= TARGETS["history_p99_ms"]
    ]
    return max(good, key=lambda row: row["achieved_req_per_s"], default=None)


def _mark(met: bool) -> str:
    return "met" if met else "**not met**"


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"


def summary(results: dict[str, Any]) -> list[str]:
    ceiling = capacity(results["transport_ceiling_100"])
    ceiling_rate = ceiling["offered_deliveries_per_s"] if ceiling else 0
    postgres = results["ceilings"]["postgres"]["pgbench_insert_commits_per_s"]
    lines = [
        "| scenario | target | " + " | ".join(results["servers"]) + " | raw ceiling | verdict |",
        "|---|---|" + "---|" * len(results["servers"]) + "---|---|",
    ]

    def row(name: str, target: str, values: list[str], ceiling_text: str, met: bool) -> None:
        lines.append(
            f"| {name} | {target} | {' | '.join(values)} | {ceiling_text} | {_mark(met)} |"
        )

    servers = list(results["servers"].values())
    fanout = [capacity(s["fanout_100"]) for s in servers]
    rates = [c["offered_deliveries_per_s"] if c else 0 for c in fanout]
    row(
        "1. fan-out, 100 members: deliveries/s sustained (p99 <= 100 ms, none lost)",
        ">= 10,000 and >= 30% of ceiling",
        [f"{r:,} ({r / ceiling_rate:.0%})" if ceiling_rate else f"{r:,}" for r in rates],
        f"bare websockets {ceiling_rate:,}",
        rates[0] >= TARGETS["fanout_deliveries_per_s"]
        and rates[0] >= TARGETS["fanout_share_of_ceiling"] * ceiling_rate,
    )
    if "fanout_1000" in servers[0]:
        best = capacity(servers[0]["fanout_1000"])
        rate = best["offered_deliveries_per_s"] if best else 0
        row(
            "1. fan-out, 1,000 members: deliveries/s sustained",
            ">= 10,000",
            [f"{rate:,}"] + ["-"] * (len(servers) - 1),
            f"bare websockets {ceiling_rate:,} (100 members)",
            rate >= TARGETS["fanout_deliveries_per_s"],
        )
    half = [s["half_load_100"] for s in servers]
    row(
        "2. latency at half load, 100 members: p50 / p99 ms",
        "<= 5 / <= 30",
        [
            f"{h['latency_ms']['p50']:.1f} / {h['latency_ms']['p99']:.1f} at {h['rate_msgs_per_s']:g} msg/s"
            if "error" not in h
            else h["error"]
            for h in half
        ],
        _ceiling_at(results["transport_ceiling_100"], half[0].get("rate_msgs_per_s")),
        "error" not in half[0]
        and half[0]["latency_ms"]["p50"] <= TARGETS["half_load_p50_ms"]
        and half[0]["latency_ms"]["p99"] <= TARGETS["half_load_p99_ms"],
    )
    ingest = [_ingest_capacity(s["ingest"]) for s in servers]
    acked = [i["acked_msgs_per_s"] if i else 0 for i in ingest]
    row(
        f"3. ingest over 10-member chats: msgs/s with ack p99 <= 50 ms "
        f"({servers[0]['send_queries']} queries per send)",
        ">= 1,000 and >= 25% of pgbench",
        [f"{a:,} ({a / postgres:.0%})" if postgres else f"{a:,}" for a in acked],
        f"pgbench {postgres:,.0f} inserts/s",
        acked[0] >= TARGETS["ingest_msgs_per_s"]
        and acked[0] >= TARGETS["ingest_share_of_pgbench"] * postgres,
    )
    for label, depth in (("newest page", "newest"), ("deep before=100", "deep")):
        values, met = [], True
        for s in servers:
            before = None if depth == "newest" else 100
            best = _history_capacity(s["history"], before)
            if best is None:
                values.append("none within p99")
                met = False
                continue
            values.append(f"{best['achieved_req_per_s']:,} req/s")
            met = met and best["achieved_req_per_s"] >= TARGETS["history_req_per_s"]
        row(
            f"4. history of {servers[0]['history_messages']:,} messages, {label}: req/s at p99 <= 100 ms",
            ">= 500",
            values,
            "-",
            met,
        )
    if "connections" in servers[0]:
        c = servers[0]["connections"]
        mib = c["server_rss_mib_loaded"]
        row(
            f"5. {c['sockets']:,} idle sockets: server memory",
            "<= 1.5 GiB (for 10,000)",
            [f"{mib:,} MiB ({c['kib_per_socket']} KiB/socket, {c['connected']:,} connected)"]
            + ["-"] * (len(servers) - 1),
            "-",
            c["connected"] == c["sockets"] and mib <= TARGETS["idle_sockets_mib"],
        )
        settle = c.get("storm_settle_seconds")
        row(
            f"5. reconnect storm of {c['storm_clients']:,}: seconds to settle, missing messages",
            "<= 20 s, 0 missing",
            [f"{settle} s, {c['storm_missing_messages']} missing, {c['storm_failed']} failed"]
            + ["-"] * (len(servers) - 1),
            "-",
            settle is not None
            and settle <= TARGETS["storm_seconds"]
            and c["storm_missing_messages"] == 0
            and c["storm_failed"] == 0,
        )
    if "catch_up" in servers[0]:
        c = servers[0]["catch_up"]

        def p50_p99(way: str) -> str:
            latency = c[way]["latency_ms"]
            return f"{latency['p50']:,.0f} / {latency['p99']:,.0f}"

        row(
            f"6. catch-up, {c['changes_behind']:,} changes behind: p50 / p99 ms"
            " (server CPU per catch-up)",
            "p99 < 200 ms",
            [
                f"socket {p50_p99('socket')} ({c['socket']['server_cpu_ms']:,.0f} ms),"
                f" REST {p50_p99('rest')} ({c['rest']['server_cpu_ms']:,.0f} ms)"
            ]
            + ["-"] * (len(servers) - 1),
            f"a fresh full load {p50_p99('full')} ({c['full']['server_cpu_ms']:,.0f} ms)",
            all(
                c[way]["complete"] == c[way]["runs"]
                and c[way]["latency_ms"]["p99"] < TARGETS["catch_up_p99_ms"]
                for way in ("socket", "rest")
            ),
        )
    if any("uploads" in s for s in servers):
        uploads = [s.get("uploads") for s in servers]
        first = next(u for u in uploads if u)
        disk = first["disk_ceiling"]
        row(
            f"8. {first['uploads']} concurrent uploads of {first['bytes_each'] / 2**20:.0f} MiB:"
            " MiB/s; server RSS growth per upload",
            f"memory flat (<= {TARGETS['upload_rss_growth_mib_per_upload']:g} MiB per upload)",
            [
                f"{u['mib_per_s']} MiB/s, {u['complete']} of {u['uploads']} stored;"
                f" +{u['rss_growth_mib_per_upload']} MiB per upload"
                if u
                else "-"
                for u in uploads
            ],
            f"disk {disk['page_cache_mib_per_s']:,} MiB/s to the page cache,"
            f" {disk['fsynced_mib_per_s']:,} fsynced",
            all(
                u["complete"] == u["uploads"]
                and u["rss_growth_mib_per_upload"] <= TARGETS["upload_rss_growth_mib_per_upload"]
                for u in uploads
                if u
            ),
        )
    return lines


def _uploads_section(u: dict[str, Any]) -> list[str]:
    rss, disk = u["server_rss_mib"], u["disk_ceiling"]
    seconds, sent = u["upload_seconds"], u["body_sent_seconds"]
    return [
        "",
        f"### 8. Uploads: {u['uploads']} at once, {u['bytes_each']:,} bytes each",
        "",
        f"{u['uploads']} users each POST a file of random bytes to"
        " `/api/chats/{id}/attachments/` at the same instant, streamed by"
        f" {u['client_processes']} client processes (one per server process). Times run from that"
        " instant. The servers' resident memory is sampled every 20 ms"
        f" ({rss['samples']} samples) and their VmHWM read before and after.",
        "",
        f"- {u['complete']} of {u['uploads']} answered 201 with the right size"
        f" (statuses {u['statuses']}), {u['stored_files_of_the_right_size']} files of the right"
        f" size stored; errors: {'; '.join(u['errors']) or 'none'}",
        f"- all in {u['seconds_all']} s: {u['mib_per_s']} MiB/s; each upload p50"
        f" {seconds['p50']} s, max {seconds['max']} s (its body all sent at p50 {sent['p50']} s,"
        f" max {sent['max']} s)",
        f"- server RSS {rss['before']:,} MiB before, {rss['peak']:,} MiB at the peak,"
        f" {rss['after']:,} MiB after: +{u['rss_growth_mib_per_upload']} MiB per concurrent upload,"
        f" {u['rss_kept_mib_after']} MiB kept (per process: before {rss['per_process_before']},"
        f" peak {rss['per_process_peak']}, after {rss['per_process_after']})",
        f"- server CPU {u['server_cpu_s']} s, {u['server_cpu_ms_per_mib']} ms per MiB;"
        f" load generator {u['load_generator_cpu_s']} s",
        f"- ceiling, the same {disk['mib']:,} MiB written to the same directory without the"
        f" server: {disk['page_cache_mib_per_s']:,} MiB/s to the page cache"
        f" ({disk['page_cache_seconds']} s), {disk['fsynced_mib_per_s']:,} MiB/s fsynced"
        f" ({disk['fsynced_seconds']} s)",
    ]


def _catch_up_section(c: dict[str, Any]) -> list[str]:
    made = ", ".join(f"{c['changes'][kind]:,} {name}" for kind, name in CHANGE_NAMES.items())
    owed = c["owed"]
    lines = [
        "",
        f"### 6. Catch-up: {c['changes_behind']:,} changes behind, one client at a time",
        "",
        f"One group of {c['members']:,} members and {c['last_seq']:,} messages; the changes since"
        f" the client's version: {made}. The feed owed {owed['messages']:,} messages,"
        f" {owed['members']:,} members and {owed['removed_user_ids']:,} removed ids. {c['rounds']}"
        f" runs of each way, in turn, after {c['warmup_rounds']} warm-up rounds (so p99 is the"
        " slowest run or nearly); CPU is the"
        " mean per run, of the one server process the client used and of all PostgreSQL's"
        " processes. Complete: the run got exactly what was owed (or, loading afresh, every message"
        " and member) and ended at the chat's version.",
        "",
        "| way | requests | p50 ms | p99 ms | server CPU ms | PostgreSQL CPU ms | complete | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for way, name in CATCH_UP_WAYS.items():
        r = c[way]
        latency = r["latency_ms"]
        lines.append(
            f"| {name} | {r['requests']} | {latency['p50']:,.1f} | {latency['p99']:,.1f} "
            f"| {r['server_cpu_ms']:,.1f} | {r['database_cpu_ms']:,.1f} "
            f"| {r['complete']} of {r['runs']} | {'; '.join(r['errors']) or '-'} |"
        )
    return lines


def _busy_chat_section(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "### 7. Reactions and read markers in a busy chat",
        "",
        "20 members of a 100-member chat toggle a 👍 on one message and move their read marker,"
        " in turn, over REST, at a rising total rate; the other 79 members' sockets count the"
        " `reaction` and `read` events. Latency runs from when each write was due. CPU is both"
        " server processes', per write, its fan-out included. The per-user throttles outside the"
        " bench: `THROTTLE_REACTION` 120/min and `THROTTLE_READ` 300/min.",
        "",
        "| writes/s | p50 ms | p99 ms | events delivered | deliveries/s | server CPU ms/write"
        " | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['rate_writes_per_s']:g} | {row['error']} | | | | | |")
            continue
        latency = row["latency_ms"]
        lines.append(
            f"| {row['rate_writes_per_s']:g} | {latency['p50']:,.1f} | {latency['p99']:,.1f} "
            f"| {row['events_delivered']:,} of {row['events_expected']:,} "
            f"| {row['deliveries_per_s']:,} | {row['server_cpu_ms_per_write']} "
            f"| {row['statuses']} |"
        )
    return lines


def _ceiling_at(rows: list[dict[str, Any]], rate: float | None) -> str:
    for row in rows:
        if "error" not in row and rate is not None and row["rate_msgs_per_s"] >= rate:
            latency = row["latency_ms"]
            return f"bare websockets p50 {latency['p50']:.1f} / p99 {latency['p99']:.1f} at {row['rate_msgs_per_s']:g} msg/s"
    return "-"


def _delivery_table(rows: list[dict[str, Any]]) -> list[str]:
    header = "| msgs/s | offered deliveries/s | lost | out of order | p50 ms | p99 ms | max ms | ack p99 ms | load-gen CPU s/s | sustained |"
    lines = [header, "|---" * 10 + "|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['rate_msgs_per_s']:g} | {row['error']} |")
            continue
        latency = row["latency_ms"]
        lines.append(
            f"| {row['rate_msgs_per_s']:g} | {row['offered_deliveries_per_s']:,} | {row['lost']} "
            f"| {row['out_of_order']} | {latency['p50']:.1f} | {latency['p99']:.1f} "
            f"| {latency['max']:.1f} | {row['ack_ms']['p99']:.1f} "
            f"| {row['load_generator_cpu_s_per_s']} | {'yes' if row['sustained'] else 'no'} |"
        )
    return lines


def markdown(results: dict[str, Any], stamp: str) -> str:
    quick = " (quick)" if results["quick"] else ""
    lines = [f"# Benchmark {results['date']}{quick}, {results['cpus']} CPUs", ""]
    lines += ["## Targets", ""] + summary(results)
    redis = results["ceilings"]["redis"]
    postgres = results["ceilings"]["postgres"]
    lines += [
        "",
        "## Raw ceilings of this machine (same run)",
        "",
        f"- redis-benchmark SET {redis['set']:,.0f}/s, PUBLISH {redis['publish']:,.0f}/s",
        f"- single-row INSERT commits: pgbench (4 clients) {postgres['pgbench_insert_commits_per_s']:,.0f}/s,"
        f" psycopg2 on one connection {postgres['psycopg2_insert_commits_per_s']:,}/s",
        "- transport: a bare `websockets` broadcast server, 100 sockets, same load generator:",
        "",
        *_delivery_table(results["transport_ceiling_100"]),
    ]
    for kind, server in results["servers"].items():
        lines += ["", f"## {kind}, two processes", ""]
        lines += [
            "### 1. Fan-out, one chat of 100 members",
            "",
            *_delivery_table(server["fanout_100"]),
        ]
        if "fanout_1000" in server:
            lines += ["", "One chat of 1,000 members:", "", *_delivery_table(server["fanout_1000"])]
        lines += [
            "",
            "### 2. Half the sustained load",
            "",
            *_delivery_table([server["half_load_100"]]),
        ]
        lines += [
            "",
            f"### 3. Ingest: {server['ingest'][0].get('chats', '?')} chats of 10, one sender each"
            f" ({server['send_queries']} queries per send)",
            "",
            "| msgs/s offered | acked/s | ack p50 ms | ack p99 ms | delivery p99 ms | lost | out of order |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in server["ingest"]:
            if "error" in row:
                lines.append(f"| {row['rate_msgs_per_s']:g} | {row['error']} |")
                continue
            lines.append(
                f"| {row['rate_msgs_per_s']:g} | {row['acked_msgs_per_s']:,} | {row['ack_ms']['p50']:.1f} "
                f"| {row['ack_ms']['p99']:.1f} | {row['latency_ms']['p99']:.1f} | {row['lost']} "
                f"| {row['out_of_order']} |"
            )
        lines += [
            "",
            f"### 4. History: {server['history_messages']:,} messages, `?limit=50`",
            "",
            "| before | req/s offered | achieved | p50 ms | p99 ms | statuses | load-gen CPU s/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in server["history"]:
            if "error" in row:
                lines.append(f"| {row['before']} | {row['rate_req_per_s']:g} | {row['error']} |")
                continue
            lines.append(
                f"| {row['before'] or 'newest'} | {row['rate_req_per_s']:g} | {row['achieved_req_per_s']:,} "
                f"| {row['latency_ms']['p50']:.1f} | {row['latency_ms']['p99']:.1f} "
                f"| {row['statuses']} | {row['load_generator_cpu_s_per_s']} |"
            )
        if "connections" in server:
            c = server["connections"]
            lines += [
                "",
                "### 5. Connections",
                "",
                f"- {c['connected']:,} of {c['sockets']:,} sockets connected in {c['connect_seconds']} s"
                f" ({c['connect_failed']} failed); server RSS {c['server_rss_mib_before']:,} MiB before,"
                f" {c['server_rss_mib_loaded']:,} MiB holding them ({c['kib_per_socket']} KiB per socket)",
                f"- reconnect storm: {c['storm_clients']:,} clients, {c['storm_settled']:,} settled in"
                f" {c.get('storm_settle_seconds')} s, {c['storm_missing_messages']} messages missing,"
                f" {c['storm_failed']} failed",
            ]
        if "catch_up" in server:
            lines += _catch_up_section(server["catch_up"])
        if "busy_chat_writes" in server:
            lines += _busy_chat_section(server["busy_chat_writes"])
        if "uploads" in server:
            lines += _uploads_section(server["uploads"])
        for name, profile in server.get("profiles", {}).items():
            lines += [
                "",
                f"### Profile of one server process: {name} ({profile['samples']} samples)",
                "",
            ]
            lines += ["| self % | function | | inclusive % | function |", "|---|---|---|---|---|"]
            for own, inclusive in zip(profile["self"], profile["inclusive"], strict=False):
                lines.append(f"| {own[1]} | `{own[0]}` | | {inclusive[1]} | `{inclusive[0]}` |")
    lines += [
        "",
        f"![latency CDF]({stamp}-latency-cdf.png)",
        "",
        f"![throughput]({stamp}-throughput.png)",
    ]
    return "\n".join(lines) + "\n"


def plots(results: dict[str, Any], directory: Path, stamp: str) -> None:
    """Latency CDFs of the fan-out rates, and delivered throughput against offered load beside
    the bare-websockets ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    daphne = results["servers"]["daphne"]
    figure, axes = pyplot.subplots(figsize=(7, 4))
    for row in [*daphne["fanout_100"], daphne["half_load_100"]]:
        if "error" in row:
            continue
        points = row["latency_ms"]["cdf"]
        axes.plot(
            [ms for _, ms in points],
            [p for p, _ in points],
            marker=".",
            label=f"{row['rate_msgs_per_s']:g} msg/s",
        )
    axes.set_xscale("log")
    axes.set_xlabel("send-to-delivery latency, ms (log)")
    axes.set_ylabel("percentile")
    axes.set_title("daphne, fan-out to 100 members: latency CDF")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(directory / f"{stamp}-latency-cdf.png", dpi=100)

    figure, axes = pyplot.subplots(figsize=(7, 4))
    series = [(kind, server["fanout_100"]) for kind, server in results["servers"].items()]
    series.append(("bare websockets", results["transport_ceiling_100"]))
    for label, rows in series:
        rows = [row for row in rows if "error" not in row and "delivered_per_s" in row]
        axes.plot(
            [row["offered_deliveries_per_s"] for row in rows],
            [row["delivered_per_s"] for row in rows],
            marker="o",
            label=label,
        )
    highest = max(row["offered_deliveries_per_s"] for _, rows in series for row in rows)
    axes.plot([0, highest], [0, highest], color="grey", linestyle="--", linewidth=1)
    axes.set_xlabel("offered deliveries/s")
    axes.set_ylabel("delivered deliveries/s")
    axes.set_title("Fan-out to 100 members: throughput against load (dashed: all of it)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(directory / f"{stamp}-throughput.png", dpi=100)
    pyplot.close("all")
