// A process that takes `count` ports with freePorts, prints them as JSON, and keeps them
// claimed until stdin closes: two of them, started side by side, are two test files.
//   node dist/test/helpers/claim-ports.js COUNT
import { freePorts } from '../../launcher/ports.js';

const ports = await freePorts(Number(process.argv[2] ?? 10));
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
