// upload.mjs: one upload with the real tus-js-client (Node 18+), as a resumable-upload client would.
//
//   node upload.mjs CLIENT_DIR MODE FILE
//
// CLIENT_DIR is the folder scripts/fetch-npm.sh printed; MODE "whole" uploads FILE in one go, "resume"
// aborts the upload once more than half of it is sent (one PATCH for the whole file, no chunkSize:
// the server must keep the part of the body that came), waits until the server reports the bytes
// it kept (HEAD), and resumes from the stored upload URL with a new Upload. The aborted upload goes
// through a slow link, a pacing TCP relay here (LINK_BPS bytes/s): over bare loopback the whole
// file is in the server's hands before tus-js-client's first progress report (it reports at most
// every 100 ms), so there would be nothing left to cut. Environment:
// MEDIAD_BASE_URL (the endpoint is its /uploads) and TUS_TOKEN (a login token). Prints one JSON
// line: {"uploadUrl", "resumeOffset" (0 for "whole"), "mediaResource"}. Exit 0, or 1 with why.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'

const LINK_BPS = 4 * 1024 * 1024
const LINK_TICK_MS = 50

const [clientDir, mode, file] = process.argv.slice(2)
const base = process.env.MEDIAD_BASE_URL
const token = process.env.TUS_TOKEN
if (!clientDir || !['whole', 'resume'].includes(mode) || !file || !base || !token) {
  console.error('usage: MEDIAD_BASE_URL=... TUS_TOKEN=... node upload.mjs CLIENT_DIR whole|resume FILE')
  process.exit(1)
}
const tus = createRequire(path.join(clientDir, 'package.json'))('tus-js-client')
const data = readFileSync(file)
const headers = { Authorization: `Bearer ${token}` }
const metadata = { filename: path.basename(file), title: `tus ${mode} ${process.pid}`, type: 'video' }
const fail = (why) => {
  console.error(`upload.mjs: ${why}`)
  process.exit(1)
}

// HEAD of the upload, as the protocol's own resume step does: its Upload-Offset and Mediad-Resource.
async function head(url) {
  const r = await fetch(url, { method: 'HEAD', headers: { ...headers, 'Tus-Resumable': '1.0.0' } })
  if (r.status !== 200) fail(`HEAD ${url}: ${r.status}`)
  return { offset: Number(r.headers.get('Upload-Offset')), resource: r.headers.get('Mediad-Resource') }
}

// Runs one Upload to its end; abortAt (a fraction) aborts it once that much was sent. Resolves the
// upload URL (after an abort, once the request is gone).
function run(opts, abortAt) {
  return new Promise((resolve, reject) => {
    let aborted = false
    const upload = new tus.Upload(data, {
      endpoint: `${base}/uploads`,
      headers,
      metadata,
      retryDelays: [0, 500, 1000],
      removeFingerprintOnSuccess: true,
      ...opts,
      onProgress(sent, total) {
        if (abortAt !== undefined && !aborted && sent > total * abortAt) {
          aborted = true
          upload.abort().then(() => resolve(upload.url), reject)
        }
      },
      onError: reject,
      onSuccess: () => resolve(upload.url),
    })
    upload.start()
  })
}

// A relay to the server that passes the client's bytes on at LINK_BPS at most (and the server's
// back as they come), holding the client back meanwhile. Resolves its port; server.close() ends it.
function slowLink() {
  const target = new URL(base)
  const server = net.createServer((client) => {
    const up = net.connect(Number(target.port), target.hostname)
    let budget = 0
    const tick = setInterval(() => {
      budget = (LINK_BPS * LINK_TICK_MS) / 1000
      client.resume()
    }, LINK_TICK_MS)
    client.on('data', (d) => {
      up.write(d)
      budget -= d.length
      if (budget <= 0) client.pause()
    })
    up.on('data', (d) => client.write(d))
    const end = () => {
      clearInterval(tick)
      client.destroy()
      up.destroy()
    }
    client.on('close', end).on('error', end)
    up.on('close', end).on('error', end)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

const deadline = (ms) => Date.now() + ms
let url
let resumeOffset = 0
if (mode === 'whole') {
  url = await run({}).catch((e) => fail(`upload failed: ${e}`))
} else {
  const link = await slowLink()
  // Every request of this Upload goes through the link, whatever host its URL names.
  const httpStack = new tus.DefaultHttpStack({
    createConnection: () => net.connect(link.address().port, '127.0.0.1'),
  })
  url = await run({ httpStack }, 0.5).catch((e) => fail(`first half failed: ${e}`))
  link.close()
  if (!url) fail('no upload URL after the abort')
  // The server keeps what came before the cut; it checkpoints once it sees the body end.
  for (const end = deadline(15000); Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    resumeOffset = (await head(url)).offset
    if (resumeOffset > 0) break
  }
  if (!(resumeOffset > 0)) fail('the server kept nothing of the aborted PATCH (Upload-Offset 0)')
  if (resumeOffset >= data.length) fail(`the abort came too late: ${resumeOffset} of ${data.length} bytes in`)
  // A new Upload from the stored URL, as after a page reload: tus-js-client HEADs it and sends the rest.
  await run({ uploadUrl: url }).catch((e) => fail(`resume failed: ${e}`))
}
const done = await head(url)
if (done.offset !== data.length) fail(`Upload-Offset ${done.offset} after success, want ${data.length}`)
if (!done.resource) fail('no Mediad-Resource once complete')
console.log(JSON.stringify({ uploadUrl: url, resumeOffset, mediaResource: done.resource }))
