// A tiny stand-in for a unicorn master, enough to run unicorn-usr2.sh against: a master process
// that owns the listening socket and hands each connection to one of its worker processes.
//   USR2  re-exec: the master renames its pid file to <pidfile>.oldbin and starts a new master
//         (this file again, so it loads the release on disk now) that inherits the listening
//         socket as fd 3. The new master boots its workers and only then accepts connections and
//         writes the pid file. Should it die first, the old master renames .oldbin back.
//   QUIT  graceful stop: stop accepting, let the workers finish what they serve, exit.
// Both masters accept on the one socket in between, as unicorn's do, so no connection is refused.
// Environment: PIDFILE, PORT (the first master; re-execs inherit the socket), WORKERS (default
// 2), RELEASE_FILE (a file whose text is the release: the workers answer it; a release starting
// with "broken" fails to boot, as new code that does not load).
// Usage: PIDFILE=/run/app.pid PORT=8080 RELEASE_FILE=/srv/app/RELEASE node unicorn-standin.mjs
import { fork, spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const release = process.env['RELEASE_FILE'] ? readFileSync(process.env['RELEASE_FILE'], 'utf8').trim() : 'v1';

if (process.argv[2] === 'worker') worker();
else master();

function worker() {
  if (release.startsWith('broken')) {
    console.error(`worker ${process.pid}: release ${release} failed to boot`);
    process.exit(1);
  }
  const http = createHttpServer((req, res) => {
    res.setHeader('x-master-pid', String(process.ppid));
    res.end(req.url === '/health' ? 'ok\n' : `${release}\n`);
  });
  process.on('message', (m, socket) => {
    if (m === 'conn' && socket) {
      http.emit('connection', socket);
      socket.resume();
    } else if (m === 'quit') {
      http.close(() => process.exit(0));
      http.closeIdleConnections();
    }
  });
  // A worker never outlives its master.
  process.on('disconnect', () => process.exit(0));
  process.send?.('ready');
}

function master() {
  const pidfile = process.env['PIDFILE'];
  const fd = process.env['LISTEN_FD'];
  if (!pidfile || (!fd && !process.env['PORT'])) {
    console.error('usage: PIDFILE=<file> PORT=<port> [WORKERS=2] [RELEASE_FILE=<file>] node unicorn-standin.mjs');
    process.exit(2);
  }
  const oldbin = `${pidfile}.oldbin`;
  const workers = [];
  let next = 0;
  let quitting = false;
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    const w = workers[next++ % workers.length];
    w.send('conn', socket);
  });
  const count = Number(process.env['WORKERS'] ?? 2);
  let ready = 0;
  for (let i = 0; i < count; i++) {
    const w = fork(self, ['worker'], { stdio: 'inherit' });
    w.on('message', (m) => {
      if (m !== 'ready' || ++ready < count) return;
      // Accept only once every worker is up: a master whose code does not load never takes a connection.
      server.listen(fd ? { fd: Number(fd) } : { port: Number(process.env['PORT']), host: '127.0.0.1' }, () => {
        writeFileSync(pidfile, `${process.pid}\n`);
        console.log(`master ${process.pid}: release ${release}, ${count} workers, accepting`);
      });
    });
    w.on('exit', (code) => {
      if (quitting) return;
      console.error(`master ${process.pid}: worker ${w.pid} exited (${code}) before or while serving; stopping`);
      process.exit(1);
    });
    workers.push(w);
  }

  process.on('SIGUSR2', () => {
    if (existsSync(oldbin)) return console.error(`master ${process.pid}: a re-exec is already under way (${oldbin} exists)`);
    renameSync(pidfile, oldbin);
    // The same command line again, as unicorn re-executes its own.
    const child = spawn(process.execPath, process.argv.slice(1), {
      env: { ...process.env, LISTEN_FD: '3' },
      stdio: ['ignore', 'inherit', 'inherit', server._handle.fd],
      detached: true,
    });
    console.log(`master ${process.pid}: USR2, re-exec as ${child.pid}`);
    child.on('exit', () => {
      // The new master died: this one is the master again, as unicorn does it.
      if (!quitting && existsSync(oldbin) && readFileSync(oldbin, 'utf8').trim() === String(process.pid)) renameSync(oldbin, pidfile);
    });
    child.unref();
  });
  process.on('SIGQUIT', () => {
    quitting = true;
    server.close();
    for (const w of workers) w.send('quit');
    let left = workers.length;
    for (const w of workers) w.on('exit', () => --left || finish());
    function finish() {
      for (const f of [pidfile, oldbin]) if (existsSync(f) && readFileSync(f, 'utf8').trim() === String(process.pid)) rmSync(f);
      process.exit(0);
    }
  });
}
