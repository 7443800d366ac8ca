/*
 * wsload: WebSocket fan-out load for bench/chat/run.sh.
 *
 * One process, epoll, non-blocking sockets.  It opens --subs subscriber
 * and --pubs publisher connections to one server, waits until every one
 * is in the room, prints "ready ..." and then takes commands on stdin:
 *
 *   size <bytes>                   nchan: the published body's length
 *   step <msgs/s> <secs> <drain>   publish at a fixed rate for <secs>,
 *                                  then wait up to <drain> seconds for
 *                                  the deliveries; prints "step k=v ..."
 *   quit
 *
 * --mode ours: every connection GETs --path and sends
 * {"type":"join","channelId":C}; it is in the room at its "joined".
 * Publishers carry a session cookie (one per line in --cookies) and send
 * {"type":"chat","channelId":C,"text":"bench:<seq>:<usec>:<pad>"}.
 * --mode nchan: subscribers GET --path (an nchan websocket subscriber),
 * publishers GET --pub-path (an nchan_pubsub websocket location) and
 * send {"type":"chat","message":"bench:<seq>:<usec>:<pad>"}, padded to
 * the size set with "size".  In both modes publishers are in the room
 * too and receive every message.
 *
 * Messages are sent open-loop: message k of a step is due at
 * start + k / rate, from publisher k mod P; the send time (CLOCK_MONOTONIC,
 * microseconds) is written into the message when its frame is built, and
 * a receiver subtracts it from the time it parsed the frame: the
 * publish-to-receive latency on one clock.  With --pub-limit n/ms a
 * publisher never exceeds n messages per ms (the server's rate limit); a
 * message no publisher may send is counted as capped, not sent.
 *
 * CPU: --cpu name=pid,pid,... (repeatable) sums the run time of every
 * thread of those processes (/proc/<pid>/task/<tid>/schedstat: user and
 * system time in ns) over the step, from the first send to the end of
 * the drain.
 *
 * Client frames are masked; server frames are parsed (text, ping: a pong
 * is sent, close: the connection is counted as closed).  Connections are
 * bound to 127.0.0.2 .. 127.0.0.9 so that ports do not run out.
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT  24
#endif

#define RBUF_SIZE     (256 * 1024)
#define SOURCES       8
#define MAX_GROUPS    8
#define MAX_PIDS      64

/* latency histogram: 10 us steps to 100 ms, then 1 ms steps to 100 s */
#define H_FINE        10000
#define H_COARSE      99900
#define H_SIZE        (H_FINE + H_COARSE + 1)

enum {
    ST_CONNECTING = 0,
    ST_HANDSHAKE,
    ST_JOINING,
    ST_READY,
    ST_CLOSED
};


typedef struct {
    int             fd;
    int             state;
    int             pub;
    int             want_out;

    unsigned char  *carry;      /* an incomplete frame or header */
    size_t          carry_len;
    size_t          carry_size;

    unsigned char  *out;        /* bytes not yet written */
    size_t          out_len;
    size_t          out_size;

    uint64_t       *ring;       /* publishers: their last sends, in us */
    int             ring_pos;
} conn_t;


typedef struct {
    char            name[32];
    int             npids;
    int             pids[MAX_PIDS];
    uint64_t        start;
} group_t;


static const char  *mode = "ours";
static int          ours = 1;
static int          port;
static const char  *path = "/ws/chat";
static const char  *pub_path;
static long         channel = 1;
static int          nsubs;
static int          npubs;
static int          inflight_max = 200;
static int          text_len = 64;
static int          msg_size = 256;
static int          limit_n;
static int          limit_ms;
static const char  *cookies_file;
static char       **cookies;

static conn_t      *conns;
static int          nconns;
static int          ep;
static unsigned char rbuf[RBUF_SIZE];

static group_t      groups[MAX_GROUPS];
static int          ngroups;

/* the step being measured */
static int          measuring;
static long         seq;            /* next message number */
static long         step_first;     /* first message number of the step */
static uint64_t     first_send;
static uint64_t     last_recv;
static uint64_t     delivered;
static uint64_t     stale;
static uint64_t     payload_bytes;
static uint64_t     refused;
static uint64_t     hist[H_SIZE];
static uint64_t     lat_max;
static int          closed;
static int          ready;
static int          inflight;
static int          failed;
static int          next_pub;
static uint64_t     rng = 0x9e3779b97f4a7c15ULL;


static uint64_t
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;

    return (uint32_t) (rng >> 16);
}


static void
die(const char *what)
{
    fprintf(stderr, "wsload(%s): %s: %s\n", mode, what, strerror(errno));
    exit(1);
}


static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n);

    if (p == NULL) {
        die("realloc");
    }

    return p;
}


/* run time of every thread of a process, ns */

static uint64_t
proc_runtime(int pid)
{
    char                path_buf[320];
    DIR                *d;
    FILE               *f;
    uint64_t            sum, ns;
    struct dirent      *de;

    snprintf(path_buf, sizeof(path_buf), "/proc/%d/task", pid);

    d = opendir(path_buf);
    if (d == NULL) {
        return 0;
    }

    sum = 0;

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        snprintf(path_buf, sizeof(path_buf), "/proc/%d/task/%s/schedstat",
                 pid, de->d_name);

        f = fopen(path_buf, "r");
        if (f == NULL) {
            continue;
        }

        if (fscanf(f, "%lu", &ns) == 1) {
            sum += ns;
        }

        fclose(f);
    }

    closedir(d);

    return sum;
}


static uint64_t
group_runtime(group_t *g)
{
    int       i;
    uint64_t  sum;

    sum = 0;

    for (i = 0; i < g->npids; i++) {
        sum += proc_runtime(g->pids[i]);
    }

    return sum;
}


static void
out_append(conn_t *c, const void *data, size_t len)
{
    if (c->out_len + len > c->out_size) {
        c->out_size = (c->out_len + len) * 2;
        c->out = xrealloc(c->out, c->out_size);
    }

    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}


static void
conn_close(conn_t *c, const char *why)
{
    if (c->state == ST_CLOSED) {
        return;
    }

    if (c->state != ST_READY) {
        if (inflight > 0) {
            inflight--;
        }

        failed++;

        if (failed <= 5) {
            fprintf(stderr, "wsload(%s): connection %d lost before it was "
                    "ready: %s\n", mode, (int) (c - conns), why);
        }

    } else {
        ready--;
        closed++;

        if (closed <= 5) {
            fprintf(stderr, "wsload(%s): connection %d closed: %s\n", mode,
                    (int) (c - conns), why);
        }
    }

    close(c->fd);
    c->fd = -1;
    c->state = ST_CLOSED;
    free(c->carry);
    c->carry = NULL;
    c->carry_len = 0;
    c->carry_size = 0;
    c->out_len = 0;
}


static void
conn_flush(conn_t *c)
{
    ssize_t             n;
    struct epoll_event  ev;

    while (c->out_len) {
        n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            if (errno == EAGAIN) {
                break;
            }

            conn_close(c, strerror(errno));
            return;
        }

        memmove(c->out, c->out + n, c->out_len - n);
        c->out_len -= n;
    }

    if ((c->out_len != 0) != c->want_out) {
        c->want_out = (c->out_len != 0);
        ev.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
        ev.data.ptr = c;

        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
            die("epoll_ctl");
        }
    }
}


/* a masked client frame */

static void
send_frame(conn_t *c, int opcode, const unsigned char *data, size_t len)
{
    size_t          i, h;
    uint32_t        key;
    unsigned char   head[14], mask[4], *p;

    head[0] = (unsigned char) (0x80 | opcode);

    if (len < 126) {
        head[1] = (unsigned char) (0x80 | len);
        h = 2;

    } else if (len < 65536) {
        head[1] = 0x80 | 126;
        head[2] = (unsigned char) (len >> 8);
        head[3] = (unsigned char) len;
        h = 4;

    } else {
        head[1] = 0x80 | 127;
        memset(head + 2, 0, 4);
        head[6] = (unsigned char) (len >> 24);
        head[7] = (unsigned char) (len >> 16);
        head[8] = (unsigned char) (len >> 8);
        head[9] = (unsigned char) len;
        h = 10;
    }

    key = rnd();
    memcpy(mask, &key, 4);
    memcpy(head + h, mask, 4);
    h += 4;

    out_append(c, head, h);

    if (c->out_len + len > c->out_size) {
        c->out_size = (c->out_len + len) * 2;
        c->out = xrealloc(c->out, c->out_size);
    }

    p = c->out + c->out_len;

    for (i = 0; i < len; i++) {
        p[i] = data[i] ^ mask[i & 3];
    }

    c->out_len += len;

    conn_flush(c);
}


static void
send_join(conn_t *c)
{
    char  buf[64];
    int   n;

    n = snprintf(buf, sizeof(buf), "{\"type\":\"join\",\"channelId\":%ld}",
                 channel);

    send_frame(c, 0x1, (unsigned char *) buf, n);
}


static void
conn_ready(conn_t *c)
{
    c->state = ST_READY;
    inflight--;
    ready++;
}


static void
hist_add(uint64_t us)
{
    uint64_t  i;

    if (us < 100000) {
        i = us / 10;

    } else {
        i = H_FINE + (us - 100000) / 1000;

        if (i >= H_SIZE) {
            i = H_SIZE - 1;
        }
    }

    hist[i]++;

    if (us > lat_max) {
        lat_max = us;
    }
}


static double
hist_pct(double pct)
{
    uint64_t  total, want, run;
    size_t    i;

    total = 0;

    for (i = 0; i < H_SIZE; i++) {
        total += hist[i];
    }

    if (total == 0) {
        return -1;
    }

    want = (uint64_t) (total * pct / 100.0 + 0.5);

    if (want == 0) {
        want = 1;
    }

    run = 0;

    for (i = 0; i < H_SIZE; i++) {
        run += hist[i];

        if (run >= want) {
            break;
        }
    }

    /* the upper edge of the bucket, in ms */

    if (i < H_FINE) {
        return (i + 1) * 10 / 1000.0;
    }

    return (100000 + (i - H_FINE + 1) * 1000) / 1000.0;
}


static void
on_text(conn_t *c, unsigned char *p, size_t len, uint64_t now)
{
    unsigned char  *m, *end;
    long            s;
    uint64_t        ts;

    end = p + len;

    if (c->state == ST_JOINING) {
        if (len > 16 && memcmp(p, "{\"type\":\"joined\"", 16) == 0) {
            conn_ready(c);
            return;
        }
    }

    m = NULL;

    if (len > 14 && memcmp(p, "{\"type\":\"chat\"", 14) == 0) {
        m = memmem(p, len, "bench:", 6);
    }

    if (m != NULL) {
        m += 6;
        s = 0;

        while (m < end && isdigit(*m)) {
            s = s * 10 + (*m++ - '0');
        }

        ts = 0;

        if (m < end && *m == ':') {
            m++;

            while (m < end && isdigit(*m)) {
                ts = ts * 10 + (*m++ - '0');
            }
        }

        if (measuring && s >= step_first && ts) {
            delivered++;
            payload_bytes += len;
            last_recv = now;
            hist_add(now > ts ? now - ts : 0);

        } else {
            stale++;
        }

        return;
    }

    if (memmem(p, len, "\"type\":\"error\"", 14) != NULL) {
        if (c->state == ST_JOINING) {
            fprintf(stderr, "wsload(%s): join refused: %.*s\n", mode,
                    (int) len, p);
            conn_close(c, "join refused");
            return;
        }

        refused++;

        if (refused <= 3) {
            fprintf(stderr, "wsload(%s): %.*s\n", mode, (int) len, p);
        }

        return;
    }
}


/* frames in p[0 .. len); returns the bytes consumed */

static size_t
parse_frames(conn_t *c, unsigned char *p, size_t len, uint64_t now)
{
    size_t          pos, h;
    uint64_t        n;
    int             opcode, masked, i;
    unsigned char  *data, mask[4];

    pos = 0;

    while (c->state != ST_CLOSED && len - pos >= 2) {
        opcode = p[pos] & 0x0f;
        masked = p[pos + 1] & 0x80;
        n = p[pos + 1] & 0x7f;
        h = 2;

        if (n == 126) {
            if (len - pos < 4) {
                break;
            }

            n = ((uint64_t) p[pos + 2] << 8) | p[pos + 3];
            h = 4;

        } else if (n == 127) {
            if (len - pos < 10) {
                break;
            }

            n = 0;

            for (i = 0; i < 8; i++) {
                n = (n << 8) | p[pos + 2 + i];
            }

            h = 10;
        }

        if (masked) {
            if (len - pos < h + 4) {
                break;
            }

            memcpy(mask, p + pos + h, 4);
            h += 4;
        }

        if (len - pos - h < n) {
            break;
        }

        data = p + pos + h;

        if (masked) {
            for (i = 0; (uint64_t) i < n; i++) {
                data[i] ^= mask[i & 3];
            }
        }

        pos += h + n;

        switch (opcode) {

        case 0x0:
        case 0x1:
        case 0x2:
            on_text(c, data, n, now);
            break;

        case 0x8:
            conn_close(c, "close frame from the server");
            return pos;

        case 0x9:
            send_frame(c, 0xa, data, n);
            break;

        default:
            break;
        }
    }

    return pos;
}


static void
on_handshake(conn_t *c, unsigned char *p, size_t len, size_t *used)
{
    unsigned char  *end;

    *used = 0;

    end = memmem(p, len, "\r\n\r\n", 4);
    if (end == NULL) {
        return;
    }

    *used = end + 4 - p;

    if (len < 12 || memcmp(p + 9, "101", 3) != 0) {
        fprintf(stderr, "wsload(%s): handshake refused: %.*s\n", mode,
                (int) (len < 200 ? len : 200), p);
        conn_close(c, "handshake refused");
        return;
    }

    if (ours) {
        c->state = ST_JOINING;
        send_join(c);

    } else {
        conn_ready(c);
    }
}


static void
on_readable(conn_t *c)
{
    ssize_t   n;
    size_t    have, used, u, space;
    uint64_t  now;

    for ( ;; ) {
        have = c->carry_len;

        if (have) {
            memcpy(rbuf, c->carry, have);
            c->carry_len = 0;
        }

        if (have >= RBUF_SIZE / 2) {
            conn_close(c, "a frame larger than the read buffer");
            return;
        }

        space = RBUF_SIZE - have;
        n = recv(c->fd, rbuf + have, space, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            if (n < 0 && errno == EAGAIN) {
                /* put the carry back */
                c->carry_len = have;
                return;
            }

            conn_close(c, n == 0 ? "the server closed the connection"
                                 : strerror(errno));
            return;
        }

        have += n;
        now = now_us();
        used = 0;

        if (c->state == ST_HANDSHAKE) {
            on_handshake(c, rbuf, have, &used);

            if (c->state == ST_HANDSHAKE || c->state == ST_CLOSED) {
                if (c->state == ST_HANDSHAKE) {
                    goto keep;
                }

                return;
            }
        }

        u = parse_frames(c, rbuf + used, have - used, now);
        used += u;

        if (c->state == ST_CLOSED) {
            return;
        }

    keep:

        if (have > used) {
            if (have - used > c->carry_size) {
                c->carry_size = have - used;
                c->carry = xrealloc(c->carry, c->carry_size);
            }

            memcpy(c->carry, rbuf + used, have - used);
            c->carry_len = have - used;

        } else if (c->carry_size > 4096) {
            free(c->carry);
            c->carry = NULL;
            c->carry_size = 0;
        }

        if (space > (size_t) n) {
            /* the socket is drained (level-triggered: epoll says if not) */
            return;
        }
    }
}


static void
on_connected(conn_t *c)
{
    int        err;
    socklen_t  len;
    char       req[1024];
    int        n, i;

    len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err) {
        errno = err;
        conn_close(c, strerror(err));
        return;
    }

    c->state = ST_HANDSHAKE;
    i = (int) (c - conns);

    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\n"
                 "Host: 127.0.0.1:%d\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: d3Nsb2FkLWJlbmNoLWtleQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s%s%s"
                 "\r\n",
                 c->pub ? pub_path : path, port,
                 (c->pub && cookies) ? "Cookie: session=" : "",
                 (c->pub && cookies) ? cookies[i % npubs] : "",
                 (c->pub && cookies) ? "\r\n" : "");

    out_append(c, req, n);
    conn_flush(c);
}


static void
conn_open(conn_t *c)
{
    int                 fd, one;
    struct sockaddr_in  sa;
    struct epoll_event  ev;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        die("socket");
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                      sizeof(one));
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t) ((c - conns)
                                                        % SOURCES));

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1) {
        die("bind");
    }

    sa.sin_addr.s_addr = htonl(0x7f000001);
    sa.sin_port = htons((uint16_t) port);

    c->fd = fd;
    c->state = ST_CONNECTING;
    inflight++;

    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    c->want_out = 1;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        die("epoll_ctl");
    }

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        && errno != EINPROGRESS)
    {
        conn_close(c, strerror(errno));
    }
}


static void
on_event(conn_t *c, uint32_t events)
{
    if (c->state == ST_CLOSED) {
        return;
    }

    if (c->state == ST_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            on_connected(c);
        }

        return;
    }

    if (events & EPOLLOUT) {
        conn_flush(c);

        if (c->state == ST_CLOSED) {
            return;
        }
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        on_readable(c);
    }
}


static void
poll_once(int timeout_ms)
{
    int                 n, i;
    struct epoll_event  evs[512];

    n = epoll_wait(ep, evs, 512, timeout_ms);

    if (n == -1) {
        if (errno == EINTR) {
            return;
        }

        die("epoll_wait");
    }

    for (i = 0; i < n; i++) {
        if (evs[i].data.ptr == NULL) {
            continue;       /* stdin: read by the command loop */
        }

        on_event(evs[i].data.ptr, evs[i].events);
    }
}


/* a publisher that may send now (--pub-limit), or NULL */

static conn_t *
pick_publisher(uint64_t now)
{
    int      i, k;
    conn_t  *c;

    for (i = 0; i < npubs; i++) {
        k = (next_pub + i) % npubs;
        c = &conns[k];

        if (c->state != ST_READY) {
            continue;
        }

        if (limit_n && c->ring[c->ring_pos]
            && now - c->ring[c->ring_pos] < (uint64_t) limit_ms * 1000)
        {
            continue;
        }

        next_pub = k + 1;

        return c;
    }

    return NULL;
}


static void
publish(conn_t *c, uint64_t now)
{
    char    buf[8192];
    char    text[4096];
    int     n, t, want;

    t = snprintf(text, sizeof(text), "bench:%ld:%lu:", seq++,
                 (unsigned long) now);

    if (ours) {
        while (t < text_len && t < (int) sizeof(text) - 1) {
            text[t] = (char) ('a' + t % 26);
            t++;
        }

        text[t] = '\0';

        n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"chat\",\"channelId\":%ld,\"text\":\"%s\"}",
                     channel, text);

    } else {
        /* {"type":"chat","message":"<text>"} of msg_size bytes */
        want = msg_size - (int) sizeof("{\"type\":\"chat\",\"message\":\"\"}")
               + 1;

        while (t < want && t < (int) sizeof(text) - 1) {
            text[t] = (char) ('a' + t % 26);
            t++;
        }

        text[t] = '\0';

        n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"chat\",\"message\":\"%s\"}", text);
    }

    if (limit_n) {
        c->ring[c->ring_pos] = now;
        c->ring_pos = (c->ring_pos + 1) % limit_n;
    }

    send_frame(c, 0x1, (unsigned char *) buf, n);
}


static void
step(double rate, double secs, double drain)
{
    int       i;
    long      total, sent, capped;
    uint64_t  start, due, now, end, deadline, expected, lag;
    double    dur, cpu[MAX_GROUPS];
    int       recipients;

    memset(hist, 0, sizeof(hist));
    lat_max = 0;
    delivered = 0;
    stale = 0;
    payload_bytes = 0;
    refused = 0;
    last_recv = 0;
    lag = 0;

    total = (long) (rate * secs + 0.5);
    if (total < 1) {
        total = 1;
    }

    recipients = ready;
    step_first = seq;
    measuring = 1;
    sent = 0;
    capped = 0;

    for (i = 0; i < ngroups; i++) {
        groups[i].start = group_runtime(&groups[i]);
    }

    start = now_us();
    first_send = start;

    while (sent + capped < total) {
        now = now_us();
        due = start + (uint64_t) ((sent + capped) * 1e6 / rate);

        if (now >= due) {
            conn_t  *c;

            if (now - due > lag) {
                lag = now - due;
            }

            c = pick_publisher(now);

            if (c == NULL) {
                capped++;

            } else {
                publish(c, now_us());
                sent++;
            }

            continue;
        }

        poll_once((int) ((due - now) / 1000));
    }

    end = now_us();
    expected = (uint64_t) sent * recipients;
    deadline = end + (uint64_t) (drain * 1e6);

    while (now_us() < deadline && delivered < expected) {
        poll_once(10);
    }

    for (i = 0; i < ngroups; i++) {
        cpu[i] = (group_runtime(&groups[i]) - groups[i].start) / 1e9;
    }

    measuring = 0;

    /*
     * The step's n messages span n / rate seconds; a server that falls
     * behind delivers the last of them later than that.
     */

    dur = sent / rate;

    if (last_recv > start && (last_recv - start) / 1e6 > dur) {
        dur = (last_recv - start) / 1e6;
    }

    printf("step rate=%.3f secs=%.3f sent=%ld capped=%ld refused=%lu "
           "recipients=%d expected=%lu delivered=%lu stale=%lu "
           "dur=%.3f dps=%.1f offered_dps=%.1f p50=%.2f p99=%.2f "
           "max=%.2f bytes=%.0f closed=%d lag=%.2f",
           rate, (end - start) / 1e6, sent, capped, refused, recipients,
           expected, delivered, stale, dur,
           dur > 0 ? delivered / dur : 0.0,
           sent * (double) recipients * rate / (sent + capped),
           hist_pct(50), hist_pct(99), lat_max / 1000.0,
           delivered ? (double) payload_bytes / delivered : 0.0,
           closed, lag / 1000.0);

    for (i = 0; i < ngroups; i++) {
        printf(" cpu_%s=%.4f", groups[i].name, cpu[i]);
    }

    printf("\n");
    fflush(stdout);
}


static void
load_cookies(void)
{
    FILE    *f;
    char     line[512];
    size_t   l;
    int      n;

    f = fopen(cookies_file, "r");
    if (f == NULL) {
        die(cookies_file);
    }

    cookies = calloc(npubs, sizeof(char *));
    n = 0;

    while (n < npubs && fgets(line, sizeof(line), f) != NULL) {
        l = strcspn(line, "\r\n");
        line[l] = '\0';

        if (l) {
            cookies[n++] = strdup(line);
        }
    }

    fclose(f);

    if (n < npubs) {
        fprintf(stderr, "wsload: %s has %d cookies, %d publishers\n",
                cookies_file, n, npubs);
        exit(1);
    }
}


static void
add_group(const char *arg)
{
    group_t     *g;
    const char  *eq, *p;
    char        *e;
    long         pid;

    eq = strchr(arg, '=');

    if (eq == NULL || ngroups == MAX_GROUPS) {
        fprintf(stderr, "wsload: --cpu name=pid,pid...\n");
        exit(2);
    }

    g = &groups[ngroups++];
    snprintf(g->name, sizeof(g->name), "%.*s", (int) (eq - arg), arg);

    for (p = eq + 1; *p && g->npids < MAX_PIDS; p = e) {
        pid = strtol(p, &e, 10);

        if (e == p) {
            break;
        }

        g->pids[g->npids++] = (int) pid;

        if (*e == ',') {
            e++;
        }
    }
}


static void
usage(void)
{
    fprintf(stderr,
            "usage: wsload --port P [--mode ours|nchan] --subs N --pubs P\n"
            "       [--path /ws/chat] [--pub-path PATH] [--channel ID]\n"
            "       [--cookies FILE] [--pub-limit N/MS] [--text-len L]\n"
            "       [--inflight N] [--cpu name=pid,pid ...]\n");
    exit(2);
}


static int
command(char *line)
{
    double  a, b, c;
    int     s;

    if (sscanf(line, "step %lf %lf %lf", &a, &b, &c) == 3 && a > 0) {
        step(a, b, c);
        return 0;
    }

    if (sscanf(line, "size %d", &s) == 1) {
        msg_size = s < 64 ? 64 : s > 4000 ? 4000 : s;
        printf("size %d\n", msg_size);
        fflush(stdout);
        return 0;
    }

    if (strncmp(line, "quit", 4) == 0) {
        return 1;
    }

    fprintf(stderr, "wsload(%s): unknown command: %s", mode, line);
    printf("error\n");
    fflush(stdout);

    return 0;
}


int
main(int argc, char **argv)
{
    int                 i, opened;
    char                line[256];
    size_t              ll;
    ssize_t             n;
    uint64_t            t0, tlast;
    struct rlimit       rl;
    struct epoll_event  ev;

    for (i = 1; i < argc; i++) {
        const char  *a = argv[i];
        const char  *v = (i + 1 < argc) ? argv[i + 1] : NULL;

        if (v == NULL) {
            usage();
        }

        if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--mode") == 0) {
            mode = v;
        } else if (strcmp(a, "--subs") == 0) {
            nsubs = atoi(v);
        } else if (strcmp(a, "--pubs") == 0) {
            npubs = atoi(v);
        } else if (strcmp(a, "--path") == 0) {
            path = v;
        } else if (strcmp(a, "--pub-path") == 0) {
            pub_path = v;
        } else if (strcmp(a, "--channel") == 0) {
            channel = atol(v);
        } else if (strcmp(a, "--cookies") == 0) {
            cookies_file = v;
        } else if (strcmp(a, "--pub-limit") == 0) {
            if (sscanf(v, "%d/%d", &limit_n, &limit_ms) != 2) {
                usage();
            }
        } else if (strcmp(a, "--text-len") == 0) {
            text_len = atoi(v);
        } else if (strcmp(a, "--inflight") == 0) {
            inflight_max = atoi(v);
        } else if (strcmp(a, "--cpu") == 0) {
            add_group(v);
        } else {
            usage();
        }

        i++;
    }

    if (port <= 0 || nsubs < 0 || npubs <= 0) {
        usage();
    }

    ours = (strcmp(mode, "ours") == 0);

    if (pub_path == NULL) {
        pub_path = path;
    }

    if (cookies_file != NULL) {
        load_cookies();
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }

    nconns = npubs + nsubs;
    conns = calloc(nconns, sizeof(conn_t));

    if (conns == NULL) {
        die("calloc");
    }

    for (i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conns[i].state = ST_CLOSED;
        conns[i].pub = (i < npubs);

        if (conns[i].pub && limit_n) {
            conns[i].ring = calloc(limit_n, sizeof(uint64_t));
        }
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1) {
        die("epoll_create1");
    }

    /* publishers first, then subscribers, inflight_max at a time */

    t0 = now_us();
    tlast = t0;
    opened = 0;

    while (ready + failed < nconns) {
        while (opened < nconns && inflight < inflight_max) {
            conn_open(&conns[opened++]);
        }

        poll_once(100);

        if (failed) {
            fprintf(stderr, "wsload(%s): %d connections failed\n", mode,
                    failed);
            return 1;
        }

        if (now_us() - tlast > 5000000) {
            tlast = now_us();
            fprintf(stderr, "wsload(%s): %d of %d in the room\n", mode,
                    ready, nconns);

            if (tlast - t0 > 300000000ULL) {
                fprintf(stderr, "wsload(%s): too slow, giving up\n", mode);
                return 1;
            }
        }
    }

    printf("ready conns=%d secs=%.2f\n", ready, (now_us() - t0) / 1e6);
    fflush(stdout);

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == -1) {
        die("epoll_ctl stdin");
    }

    ll = 0;

    for ( ;; ) {
        struct epoll_event  evs[512];
        int                 k, m;

        m = epoll_wait(ep, evs, 512, 1000);

        if (m == -1) {
            if (errno == EINTR) {
                continue;
            }

            die("epoll_wait");
        }

        for (k = 0; k < m; k++) {
            if (evs[k].data.ptr != NULL) {
                on_event(evs[k].data.ptr, evs[k].events);
                continue;
            }

            n = read(0, line + ll, sizeof(line) - 1 - ll);

            if (n <= 0) {
                return 0;
            }

            ll += n;
            line[ll] = '\0';

            for ( ;; ) {
                char  *nl = strchr(line, '\n');

                if (nl == NULL) {
                    break;
                }

                *nl = '\0';

                if (command(line)) {
                    return 0;
                }

                memmove(line, nl + 1, ll - (nl + 1 - line) + 1);
                ll -= nl + 1 - line;
            }

            if (ll == sizeof(line) - 1) {
                ll = 0;
            }
        }
    }
}
