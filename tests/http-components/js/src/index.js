// Spry's Spin JavaScript test app: a fetch-event handler as Spin's
// http-js template writes it, built by scripts/build-js-app.sh with
// esbuild and j2w (componentize-js around StarlingMonkey).
//
//   GET  /hello           200 "hello from js\n", content-type text/plain
//   POST /echo            200, the request body back, same content-type
//   ANY  /headers         200, JSON {method, url, headers: {name: value}}
//   GET  /status/:code    that status, header x-spry-status: <code>, body "status <code>\n"
//   GET  /outbound        fetches the URL in request header x-target-url and
//                         answers 200 JSON {status, headers, body}, or 502
//                         JSON {error} when the fetch fails (denied, refused...)
//   anything else         404 "no route\n"

function json(value, status = 200) {
    return new Response(JSON.stringify(value), {
        status,
        headers: { 'content-type': 'application/json' },
    });
}

async function outbound(request) {
    const target = request.headers.get('x-target-url');
    if (!target)
        return json({ error: 'missing x-target-url header' }, 400);
    try {
        const method = request.headers.get('x-target-method') || 'GET';
        const init = { method };
        if (method !== 'GET' && method !== 'HEAD')
            init.body = await request.text();
        const response = await fetch(target, init);
        const headers = {};
        for (const [name, value] of response.headers)
            headers[name] = value;
        return json({ status: response.status, headers, body: await response.text() });
    } catch (e) {
        return json({ error: String(e) }, 502);
    }
}

async function handle(request) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === '/hello' && request.method === 'GET')
        return new Response('hello from js\n', { headers: { 'content-type': 'text/plain' } });
    if (path === '/echo' && request.method === 'POST') {
        const body = await request.arrayBuffer();
        const type = request.headers.get('content-type') || 'application/octet-stream';
        return new Response(body, { headers: { 'content-type': type } });
    }
    if (path === '/headers') {
        const headers = {};
        for (const [name, value] of request.headers)
            headers[name] = value;
        return json({ method: request.method, url: request.url, headers });
    }
    const m = /^\/status\/([0-9]{3})$/.exec(path);
    if (m) {
        const code = Number(m[1]);
        const bodyless = code === 204 || code === 304;
        return new Response(bodyless ? null : `status ${code}\n`, {
            status: code,
            headers: { 'x-spry-status': String(code), 'content-type': 'text/plain' },
        });
    }
    if (path === '/outbound')
        return outbound(request);
    return new Response('no route\n', { status: 404, headers: { 'content-type': 'text/plain' } });
}

addEventListener('fetch', (event) => {
    event.respondWith(handle(event.request));
});
