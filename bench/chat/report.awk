#!/usr/bin/awk -f
#
# The tables of bench/chat/run.sh from its results file (one line per
# measurement, key=value fields).  Variables: pubs, workers, step_secs,
# drain, lat, ns, targets, date, cores, cpu.

function f(line, key,    i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) {
        if (index(kv[i], key "=") == 1) {
            return substr(kv[i], length(key) + 2)
        }
    }
    return ""
}

function us(cpu_s, deliveries) {
    return deliveries > 0 ? sprintf("%.2f", cpu_s * 1e6 / deliveries) : "-"
}

function pct(a, b) {
    return b > 0 ? sprintf("%.0f %%", 100 * a / b) : "-"
}

$1 == "mem" || $1 == "memafter" {
    n = f($0, "n"); s = f($0, "side")
    mem[$1, n, s] = f($0, "bytes")
    next
}

$1 == "step" {
    n = f($0, "n"); s = f($0, "side"); t = f($0, "target")
    key = n SUBSEP t SUBSEP s
    seen[key] = 1
    rate[n, t] = f($0, "rate")
    dps[key] = f($0, "dps")
    p50[key] = f($0, "p50")
    p99[key] = f($0, "p99")
    dl[key] = f($0, "delivered")
    exp_[key] = f($0, "expected")
    cpu_n[key] = f($0, "cpu_nginx")
    cpu_r[key] = f($0, "cpu_redis")
    cpu_p[key] = f($0, "cpu_pg")
    st[key] = f($0, "status")
    tries[key] = f($0, "tries")
    bytes[s] = f($0, "bytes")
    next
}

END {
    nn = split(ns, N, " ")
    nt = split(targets, T, " ")

    printf "### Chat fan-out (%s, %s cores, %s)\n\n", date, cores, cpu
    printf "Command: `flock /tmp/bench.lock bench/chat/run.sh` (NS=\"%s\" " \
           "PUBS=%s WORKERS=%s STEP_SECS=%s DRAIN_SECS=%s LAT_LIMIT_MS=%s)\n\n",
           ns, pubs, workers, step_secs, drain, lat

    print "| N subscribers (+" pubs " publishers) | measure | nchan | ours | ours / nchan | bar | verdict |"
    print "| --- | --- | --- | --- | --- | --- | --- |"

    for (i = 1; i <= nn; i++) {
        n = N[i]

        mo = mem["mem", n, "ours"]; mc = mem["mem", n, "nchan"]
        printf "| %s | memory per idle connection (bytes, PSS) | %s | %s | %s | ≤ 100 %% | %s |\n",
               n, mc, mo, pct(mo, mc), (mo + 0 <= mc + 0) ? "pass" : "FAIL"

        # CPU per delivery over the steps both sides ran and delivered
        co = 0; cc = 0; do_ = 0; dc = 0; cr = 0; cp = 0; common = 0
        cheaper = 0
        for (j = 1; j <= nt; j++) {
            ko = n SUBSEP T[j] SUBSEP "ours"
            kc = n SUBSEP T[j] SUBSEP "nchan"
            if (seen[ko] && seen[kc] && dl[ko] >= 0.99 * exp_[ko] &&
                dl[kc] >= 0.99 * exp_[kc])
            {
                co += cpu_n[ko]; do_ += dl[ko]; cr += cpu_r[ko]; cp += cpu_p[ko]
                cc += cpu_n[kc]; dc += dl[kc]
                common++
                if (cpu_n[ko] / dl[ko] < cpu_n[kc] / dl[kc]) {
                    cheaper++
                }
            }
        }

        if (common) {
            uo = us(co, do_); uc = us(cc, dc)
            printf "| %s | nginx CPU per delivery (µs), over the %d steps both ran and delivered in full (ours lower in %d) | %s | %s | %s | ≤ 100 %% | %s |\n",
                   n, common, cheaper, uc, uo, pct(uo, uc),
                   (uo + 0 <= uc + 0) ? "pass" : "FAIL"
            printf "| %s | ours: Redis / PostgreSQL CPU per delivery (µs), same steps | - | %s / %s | | | |\n",
                   n, us(cr, do_), us(cp, do_)
        } else {
            printf "| %s | nginx CPU per delivery (µs) | no step delivered in full by both | | | | |\n", n
        }

        # the highest sustained delivery rate of each side
        bo = 0; bc = 0
        for (j = 1; j <= nt; j++) {
            ko = n SUBSEP T[j] SUBSEP "ours"
            kc = n SUBSEP T[j] SUBSEP "nchan"
            if (st[ko] == "ok" && dps[ko] + 0 > bo) { bo = dps[ko] + 0; lo = p50[ko] " / " p99[ko] }
            if (st[kc] == "ok" && dps[kc] + 0 > bc) { bc = dps[kc] + 0; lc = p50[kc] " / " p99[kc] }
        }
        printf "| %s | highest deliveries/s kept up with (p50 / p99 ms there) | %.0f (%s) | %.0f (%s) | %s | | |\n",
               n, bc, bc ? lc : "-", bo, bo ? lo : "-", pct(bo, bc)
    }

    printf "\nEvery step (offered deliveries/s = msgs/s × (N + %s); " \
           "CPU in µs per delivery; ✗: fell behind; ²: the second try, " \
           "the first fell behind):\n\n", pubs
    print "| N | offered deliveries/s | msgs/s | nchan deliveries/s | nchan p50 / p99 ms | nchan CPU | ours deliveries/s | ours p50 / p99 ms | ours nginx CPU | ours Redis CPU | ours PG CPU |"
    print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"

    for (i = 1; i <= nn; i++) {
        n = N[i]
        for (j = 1; j <= nt; j++) {
            ko = n SUBSEP T[j] SUBSEP "ours"
            kc = n SUBSEP T[j] SUBSEP "nchan"
            if (!seen[ko] && !seen[kc]) {
                continue
            }
            line = sprintf("| %s | %s | %s |", n, T[j], rate[n, T[j]])
            if (seen[kc]) {
                line = line sprintf(" %.0f%s%s | %s / %s | %s |", dps[kc],
                       st[kc] == "ok" ? "" : " ✗",
                       tries[kc] > 1 ? " ²" : "", p50[kc], p99[kc],
                       us(cpu_n[kc], dl[kc]))
            } else {
                line = line " - | - | - |"
            }
            if (seen[ko]) {
                line = line sprintf(" %.0f%s%s | %s / %s | %s | %s | %s |",
                       dps[ko], st[ko] == "ok" ? "" : " ✗",
                       tries[ko] > 1 ? " ²" : "", p50[ko], p99[ko],
                       us(cpu_n[ko], dl[ko]), us(cpu_r[ko], dl[ko]),
                       us(cpu_p[ko], dl[ko]))
            } else {
                line = line " - | - | - | - | - |"
            }
            print line
        }
    }

    printf "\nIdle memory per connection after the traffic (bytes): "
    for (i = 1; i <= nn; i++) {
        n = N[i]
        printf "%sN=%s nchan %s, ours %s", (i > 1 ? "; " : ""), n,
               mem["memafter", n, "nchan"], mem["memafter", n, "ours"]
    }
    printf ".\nMessage size as delivered (WebSocket payload): ours %s bytes, " \
           "nchan %s bytes.\n", bytes["ours"], bytes["nchan"]
}
