
/*
 * Copyright (C) The twitch-nginx authors
 */


/*
 * Programs run by a worker (ffmpeg: the test pattern, clip remuxes).
 *
 * A worker cannot wait for its own children: nginx's SIGCHLD handler
 * reaps every child of the process with waitpid(-1), and logs an
 * [alert] for one that died on a signal.  So the worker forks a small
 * supervisor (a copy of itself that only makes async-signal-safe calls)
 * which forks and execs the program, waits for it, writes its exit
 * status into a pipe and exits normally.  The worker watches the pipe on
 * its event loop: the status, then end of file, tell that the program is
 * over; nginx's reaping of the supervisor is harmless.
 *
 * The supervisor forwards SIGTERM/SIGINT/SIGHUP to the program.  Both die
 * with their parent (PR_SET_PDEATHSIG), so a worker that exits or crashes
 * takes its programs along.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#if (NGX_LINUX)
#include <sys/prctl.h>
#endif

#include "ngx_http_twitch_child.h"
#include "ngx_http_twitch_conn.h"


/* the program could not be started (execve failed: exit code 127) */
#define NGX_HTTP_TWITCH_CHILD_SIGNAL  1000


struct ngx_http_twitch_child_s {
    ngx_queue_t                  queue;
    ngx_pid_t                    pid;           /* the supervisor */
    ngx_connection_t            *c;
    ngx_http_twitch_child_pt     handler;
    void                        *data;
    ngx_log_t                   *log;
    int                          code;
    size_t                       got;
};


static void ngx_http_twitch_child_supervise(const char *path,
    char *const *argv, const char *output, int fd, ngx_pid_t parent);
static void ngx_http_twitch_child_forward(int signo);
static void ngx_http_twitch_child_read(ngx_event_t *rev);
static void ngx_http_twitch_child_write(ngx_event_t *wev);
static void ngx_http_twitch_child_done(ngx_http_twitch_child_t *child);


extern char  **environ;

static ngx_queue_t            ngx_http_twitch_children;
static ngx_uint_t             ngx_http_twitch_children_init;

/* in the supervisor: the program to forward signals to */
static volatile pid_t         ngx_http_twitch_child_program;


ngx_http_twitch_child_t *
ngx_http_twitch_child_spawn(const char *path, char *const *argv,
    const char *output, ngx_http_twitch_child_pt handler, void *data,
    ngx_log_t *log)
{
    int                       fds[2];
    ngx_pid_t                 pid, parent;
    ngx_connection_t         *c;
    ngx_http_twitch_child_t  *child;

    if (!ngx_http_twitch_children_init) {
        ngx_queue_init(&ngx_http_twitch_children);
        ngx_http_twitch_children_init = 1;
    }

    child = ngx_calloc(sizeof(ngx_http_twitch_child_t), log);
    if (child == NULL) {
        return NULL;
    }

    if (pipe2(fds, O_CLOEXEC) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "twitch child: pipe2() failed");
        ngx_free(child);
        return NULL;
    }

    if (ngx_nonblocking(fds[0]) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_nonblocking_n " failed");
        goto failed;
    }

    parent = ngx_getpid();

    pid = fork();

    if (pid == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "twitch child: fork() failed");
        goto failed;
    }

    if (pid == 0) {
        ngx_http_twitch_child_supervise(path, argv, output, fds[1], parent);
        /* not reached */
    }

    (void) close(fds[1]);

    c = ngx_http_twitch_conn_wrap(fds[0], log, child,
                                  ngx_http_twitch_child_read,
                                  ngx_http_twitch_child_write);
    if (c == NULL) {
        /* the program runs on; it dies with the worker */
        (void) kill(pid, SIGTERM);
        (void) close(fds[0]);
        ngx_free(child);
        return NULL;
    }

    child->pid = pid;
    child->c = c;
    child->handler = handler;
    child->data = data;
    child->log = log;

    ngx_queue_insert_tail(&ngx_http_twitch_children, &child->queue);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "twitch child: cannot watch the status pipe");
        (void) kill(pid, SIGTERM);
        child->handler = NULL;
        ngx_http_twitch_child_done(child);
        return NULL;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "twitch child: \"%s\" under supervisor %P", path, pid);

    return child;

failed:

    (void) close(fds[0]);
    (void) close(fds[1]);
    ngx_free(child);

    return NULL;
}


/*
 * The supervisor, right after fork(): a copy of a worker that may hold
 * nginx's locks and threads' state, so only async-signal-safe calls.
 */

static void
ngx_http_twitch_child_supervise(const char *path, char *const *argv,
    const char *output, int fd, ngx_pid_t parent)
{
    int               i, nul, out, status, code;
    pid_t             pid;
    sigset_t          set;
    struct sigaction  sa;

    /* nginx's handlers would reap the program behind our back */

    ngx_memzero(&sa, sizeof(struct sigaction));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);

    for (i = 1; i < NSIG; i++) {
        if (i != SIGKILL && i != SIGSTOP) {
            (void) sigaction(i, &sa, NULL);
        }
    }

    sa.sa_handler = SIG_IGN;
    (void) sigaction(SIGPIPE, &sa, NULL);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    (void) sigprocmask(SIG_SETMASK, &set, NULL);

    (void) setsid();
    (void) umask(022);

#if (NGX_LINUX)
    (void) prctl(PR_SET_NAME, (unsigned long) "twitch: child", 0, 0, 0);
    (void) prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
#endif

    if (getppid() != parent) {
        /* the worker died before PR_SET_PDEATHSIG took effect */
        _exit(1);
    }

    /* stdin, stdout, stderr, the status pipe as 3, nothing else */

    nul = open("/dev/null", O_RDWR);

    out = (output != NULL)
          ? open(output, O_WRONLY|O_APPEND|O_CREAT, 0644)
          : -1;

    if (out == -1) {
        out = nul;
    }

    if (fd != 3) {
        if (dup2(fd, 3) == -1) {
            _exit(1);
        }
    }

    if (nul != -1) {
        (void) dup2(nul, STDIN_FILENO);
    }

    if (out != -1) {
        (void) dup2(out, STDOUT_FILENO);
        (void) dup2(out, STDERR_FILENO);
    }

    (void) close_range(4, ~0U, 0);

    pid = fork();

    if (pid == 0) {
        (void) close(3);

        sigemptyset(&set);
        (void) sigprocmask(SIG_SETMASK, &set, NULL);

#if (NGX_LINUX)
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
#endif

        (void) execve(path, argv, environ);
        _exit(127);
    }

    if (pid == -1) {
        code = NGX_HTTP_TWITCH_CHILD_SIGNAL;
        (void) write(3, &code, sizeof(int));
        _exit(0);
    }

    ngx_http_twitch_child_program = pid;

    sa.sa_handler = ngx_http_twitch_child_forward;
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) sigaction(SIGINT, &sa, NULL);
    (void) sigaction(SIGHUP, &sa, NULL);

    sigemptyset(&set);
    (void) sigprocmask(SIG_SETMASK, &set, NULL);

    for ( ;; ) {
        if (waitpid(pid, &status, 0) == pid) {
            break;
        }

        if (errno != EINTR) {
            status = -1;
            break;
        }
    }

    if (status == -1) {
        code = NGX_HTTP_TWITCH_CHILD_SIGNAL;

    } else if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);

    } else if (WIFSIGNALED(status)) {
        code = NGX_HTTP_TWITCH_CHILD_SIGNAL + WTERMSIG(status);

    } else {
        code = NGX_HTTP_TWITCH_CHILD_SIGNAL;
    }

    (void) write(3, &code, sizeof(int));

    _exit(0);
}


static void
ngx_http_twitch_child_forward(int signo)
{
    if (ngx_http_twitch_child_program > 0) {
        (void) kill(ngx_http_twitch_child_program, signo);
    }
}


static void
ngx_http_twitch_child_read(ngx_event_t *rev)
{
    u_char                    buf[16];
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_http_twitch_child_t  *child;

    c = rev->data;
    child = c->data;

    for ( ;; ) {
        if (child->got < sizeof(int)) {
            n = read(c->fd, (u_char *) &child->code + child->got,
                     sizeof(int) - child->got);

        } else {
            n = read(c->fd, buf, sizeof(buf));
        }

        if (n > 0) {
            child->got += n;
            continue;
        }

        if (n == 0) {
            ngx_http_twitch_child_done(child);
            return;
        }

        if (ngx_errno == NGX_EAGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_twitch_child_done(child);
            }

            return;
        }

        if (ngx_errno != NGX_EINTR) {
            ngx_log_error(NGX_LOG_ERR, child->log, ngx_errno,
                          "twitch child: cannot read the status pipe");
            ngx_http_twitch_child_done(child);
            return;
        }
    }
}


static void
ngx_http_twitch_child_write(ngx_event_t *wev)
{
    /* never armed */
}


static void
ngx_http_twitch_child_done(ngx_http_twitch_child_t *child)
{
    ngx_int_t                  status;
    ngx_socket_t               fd;
    ngx_http_twitch_child_pt   handler;

    fd = child->c->fd;
    ngx_http_twitch_conn_release(child->c, 0);
    (void) close(fd);

    ngx_queue_remove(&child->queue);

    if (child->got < sizeof(int)) {
        status = NGX_ERROR;

    } else if (child->code >= NGX_HTTP_TWITCH_CHILD_SIGNAL) {
        status = -(ngx_int_t) (child->code - NGX_HTTP_TWITCH_CHILD_SIGNAL);

        if (status == 0) {
            status = NGX_ERROR;
        }

    } else {
        status = child->code;
    }

    handler = child->handler;

    if (handler != NULL) {
        handler(child->data, status);
    }

    ngx_free(child);
}


void
ngx_http_twitch_child_stop(ngx_http_twitch_child_t *child)
{
    if (kill(child->pid, SIGTERM) == -1 && ngx_errno != NGX_ESRCH) {
        ngx_log_error(NGX_LOG_ALERT, child->log, ngx_errno,
                      "twitch child: kill(%P) failed", child->pid);
    }
}


void
ngx_http_twitch_child_forget(ngx_http_twitch_child_t *child)
{
    child->handler = NULL;
}


void
ngx_http_twitch_child_stop_all(void)
{
    ngx_queue_t              *q;
    ngx_socket_t              fd;
    ngx_http_twitch_child_t  *child;

    if (!ngx_http_twitch_children_init) {
        return;
    }

    /*
     * The worker exits: the programs are asked to stop (their supervisors
     * also get SIGTERM when the worker is gone) and no longer watched.
     */

    while (!ngx_queue_empty(&ngx_http_twitch_children)) {
        q = ngx_queue_head(&ngx_http_twitch_children);
        child = ngx_queue_data(q, ngx_http_twitch_child_t, queue);

        (void) kill(child->pid, SIGTERM);

        fd = child->c->fd;
        ngx_http_twitch_conn_release(child->c, 0);
        (void) close(fd);

        ngx_queue_remove(q);
        ngx_free(child);
    }
}
