// The runtime's floor for `make bench`: a minimal module worker that makes
// `n` sequential fetch calls to `target` (a JSON POST, its answer read and
// parsed, as a webhook_call step does) and answers when they are done. What
// `wrangler dev` needs for that, with no engine around it, is the floor the
// worker's step overhead is measured against.
//
//   GET /health                      -> 200 ok
//   GET /?n=100&target=http://...    -> {"n":100}
//   ...&log=3                        -> also writes 3 console lines (what a
//                                       log line costs in `wrangler dev`)
//   ...&rich=1                       -> each call as the Rust worker makes it:
//                                       an AbortController, a timeout timer
//                                       raced and cleared, 7 request headers,
//                                       the answer's headers listed and its
//                                       body read as a stream
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/health") {
      return new Response("ok");
    }
    const n = Number(url.searchParams.get("n") || "0");
    const target = url.searchParams.get("target");
    const rich = url.searchParams.get("rich") === "1";
    for (let i = 0; i < n; i++) {
      if (rich) {
        await richCall(target, i);
        continue;
      }
      const answer = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ i }),
      });
      await answer.json();
    }
    const lines = Number(url.searchParams.get("log") || "0");
    for (let i = 0; i < lines; i++) {
      console.log(`GET / -> 200 (line ${i + 1} of ${lines})`);
    }
    return Response.json({ n });
  },
};

async function richCall(target, i) {
  const controller = new AbortController();
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, 10000);
  });
  const headers = new Headers();
  headers.append("content-type", "application/json");
  headers.append("accept", "application/json, text/plain;q=0.9, */*;q=0.8");
  headers.append("user-agent", "edgeflow-webhooks/1");
  headers.append("idempotency-key", `bench:${i}`);
  headers.append("webhook-id", `msg_${i}`);
  headers.append("webhook-timestamp", "1800000000");
  headers.append("webhook-signature", "v1,c2lnbmF0dXJlLWJ5dGVzLWZvci10aGUtYmVuY2g=");
  const call = (async () => {
    const answer = await fetch(target, {
      method: "POST",
      headers,
      body: new TextEncoder().encode(JSON.stringify({ i })),
      redirect: "manual",
      signal: controller.signal,
    });
    const seen = [...answer.headers.entries()].map(([k, v]) => [k.toLowerCase(), v]);
    const reader = answer.body.getReader();
    const chunks = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    return [seen, chunks];
  })();
  await Promise.race([call, timeout]);
  clearTimeout(timer);
  controller.abort();
}
