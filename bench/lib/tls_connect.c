/* New TLS connections per second, for bench/run tls_handshake.

     tls_connect HOST PORT PATH THREADS SECONDS new|reuse

   THREADS blocking client threads, each in a loop for SECONDS: connect (TCP_NODELAY), TLS 1.3
   handshake, "GET PATH HTTP/1.1" with Connection: close, read the answer to the end, close.
   "new": a full handshake every time (no session offered). "reuse": each thread offers the
   session (ticket) of its previous connection, so every connection but a thread's first is a
   resumption if the server accepts it; SSL_session_reused() counts those that were. The
   certificate is not verified (self-signed, made for the run); the server's signature in a
   full handshake is still checked by TLS 1.3 itself.

   Prints one JSON line: connections, reused, errors (connect/handshake/read failures and
   answers that are not HTTP 200), seconds (wall), bytes (application bytes read), p50_ms and
   p99_ms of connect-to-close times. Build: cc -O2 -pthread tls_connect.c -lssl -lcrypto */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static SSL_CTX *ctx;
static char request[512];
static size_t request_len;
static int reuse;
static double deadline;

struct worker {
  pthread_t thread;
  long connections, reused, errors, bytes;
  double *times;
  size_t n_times, cap_times;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void record(struct worker *w, double t) {
  if (w->n_times == w->cap_times) {
    w->cap_times = w->cap_times ? w->cap_times * 2 : 4096;
    w->times = realloc(w->times, w->cap_times * sizeof(double));
    if (!w->times) abort();
  }
  w->times[w->n_times++] = t;
}

/* One connection: returns 0 on a complete 200 answer. *session is offered (reuse mode) and
   replaced by the new connection's session. */
static int one(struct worker *w, SSL_SESSION **session) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one_ = 1, ok = -1;
  if (fd < 0) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
  SSL *ssl = NULL;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) goto out;
  ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (reuse && *session) SSL_set_session(ssl, *session);
  if (SSL_connect(ssl) != 1) goto out;
  if (SSL_write(ssl, request, (int)request_len) != (int)request_len) goto out;
  char buf[16384];
  long got = 0;
  int status = 0;
  for (;;) {
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) break; /* close_notify or EOF: the server closed after its answer */
    if (got == 0 && n >= 12 && memcmp(buf, "HTTP/1.", 7) == 0) status = atoi(buf + 9);
    got += n;
  }
  w->bytes += got;
  if (status == 200) ok = 0;
  if (SSL_session_reused(ssl)) w->reused++;
  /* A session of a connection freed without a shutdown is marked not resumable: mark it shut
     down (quietly; the server closed first). */
  SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  if (reuse) {
    SSL_SESSION *s = SSL_get1_session(ssl); /* TLS 1.3: the ticket that came after the handshake */
    if (s) {
      if (*session) SSL_SESSION_free(*session);
      *session = s;
    }
  }
out:
  if (ssl) SSL_free(ssl);
  close(fd);
  ERR_clear_error();
  return ok;
}

static void *run(void *arg) {
  struct worker *w = arg;
  SSL_SESSION *session = NULL;
  while (now() < deadline) {
    double t0 = now();
    if (one(w, &session) == 0) {
      w->connections++;
      record(w, now() - t0);
    } else {
      w->errors++;
    }
  }
  if (session) SSL_SESSION_free(session);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: tls_connect HOST PORT PATH THREADS SECONDS new|reuse\n");
    return 2;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) return 2;
  int threads = atoi(argv[4]);
  double seconds = atof(argv[5]);
  reuse = strcmp(argv[6], "reuse") == 0;
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n", argv[3], argv[1],
                                 argv[2]);
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  /* Sessions are kept by hand per thread; the internal client cache is not needed. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  struct worker *ws = calloc((size_t)threads, sizeof *ws);
  double start = now();
  deadline = start + seconds;
  for (int i = 0; i < threads; i++) pthread_create(&ws[i].thread, NULL, run, &ws[i]);
  long connections = 0, reused = 0, errors = 0, bytes = 0;
  size_t n = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(ws[i].thread, NULL);
    connections += ws[i].connections;
    reused += ws[i].reused;
    errors += ws[i].errors;
    bytes += ws[i].bytes;
    n += ws[i].n_times;
  }
  double wall = now() - start;
  double *all = malloc((n ? n : 1) * sizeof(double));
  size_t k = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + k, ws[i].times, ws[i].n_times * sizeof(double));
    k += ws[i].n_times;
  }
  qsort(all, n, sizeof(double), cmp);
  double p50 = n ? all[(n - 1) / 2] : 0, p99 = n ? all[(size_t)((n - 1) * 0.99)] : 0;
  printf("{\"connections\": %ld, \"reused\": %ld, \"errors\": %ld, \"seconds\": %.3f, \"bytes\": %ld, "
         "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"threads\": %d, \"mode\": \"%s\"}\n",
         connections, reused, errors, wall, bytes, p50 * 1000, p99 * 1000, threads, argv[6]);
  return 0;
}
