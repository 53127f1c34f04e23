// tests/fakes/s3/server.js: @20minutes/s3rver 5.0.0 (a fake S3 that
// verifies SigV4 signatures and refuses a wrong secret) on 127.0.0.1,
// through its JS API (the package has no bin).
//
//   node server.js DIR PORTFILE BUCKET...
//
// Serves the buckets (created empty) with data under DIR, listens on a
// free port and writes it to PORTFILE once ready.  Credentials:
// S3RVER / S3RVER (s3rver's built-in account).  Virtual-host requests
// work for BUCKET.s3.localhost.  Run with
// NODE_OPTIONS=--openssl-legacy-provider: s3rver encrypts its
// ListObjectsV2 continuation tokens with DES.  Stops on SIGTERM.
'use strict'

const fs = require('node:fs')
const S3rver = require('@20minutes/s3rver')

const [dir, portFile, ...buckets] = process.argv.slice(2)
if (!dir || !portFile || buckets.length === 0) {
  process.stderr.write('usage: node server.js DIR PORTFILE BUCKET...\n')
  process.exit(64)
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  serviceEndpoint: 'localhost',
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
})

server
  .run()
  .then(({ port }) => {
    const tmp = `${portFile}.tmp`
    fs.writeFileSync(tmp, `${port}\n`)
    fs.renameSync(tmp, portFile)
  })
  .catch((err) => {
    process.stderr.write(`s3rver: ${err.message}\n`)
    process.exit(69)
  })

const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
