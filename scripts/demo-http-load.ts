// Demo helper: HTTP load on the demo application through its balancer, measured by autocannon.
// `run URL STOPFILE` sends a steady mix of POST /orders (one INSERT) and GET /orders/latest (one
// SELECT) on a few keep-alive connections until STOPFILE appears, then prints what the users
// saw: requests, failed requests (connection errors, timeouts and non-2xx answers), and the slowest
// request. It exits 1 when a request failed.
import { existsSync } from 'node:fs';
import autocannon from 'autocannon';

const [cmd, url, stopFile] = process.argv.slice(2);
if (cmd !== 'run' || !url || !stopFile) throw new Error('usage: demo-http-load run <app url> <stop file>');

let finish: (r: autocannon.Result) => void = () => undefined;
let fail: (e: unknown) => void = () => undefined;
const done = new Promise<autocannon.Result>((res, rej) => {
  finish = res;
  fail = rej;
});
const instance = autocannon(
  {
    url,
    connections: 4,
    // Bounded so the demo measures a steady user load, not how fast two shared cores can go.
    overallRate: 200,
    duration: 3600,
    timeout: 10,
    requests: [
      { method: 'POST', path: '/orders' },
      { method: 'GET', path: '/orders/latest' },
    ],
  },
  (err, result) => (err ? fail(err) : finish(result)),
);
const watch = setInterval(() => {
  if (existsSync(stopFile)) instance.stop();
}, 100);
const result = await done;
clearInterval(watch);
const failed = result.errors + result.timeouts + result.non2xx;
console.log(
  `http load: ${result.requests.total} requests, ${failed} failed (${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx), slowest request ${result.latency.max} ms, p99 ${result.latency.p99} ms`,
);
if (failed) process.exit(1);
