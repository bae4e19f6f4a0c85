import { cli, cliProcess } from '../helpers/cli.js';
const where = process.argv[2];
const args = process.argv.slice(3);
for (let i = 0; i < 10; i++) {
  const r = where === 'thread' ? await cli(args) : await cliProcess(args);
  if (i === 0) console.error(r.code, r.stderr.slice(0, 100));
}
