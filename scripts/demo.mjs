// `npm run demo`: belay doing both jobs it is built for, on hosts in network
// namespaces on this machine, cleaned up afterwards.
//   1. The Corosync/Pacemaker way: the seed tutorial (haproxy clone + floating
//      IP) on a belay cluster, configured with the tutorial's crm commands and
//      fencing on (the lab's power switch, stonith:fence_belay_lab), then the
//      active load balancer's cable is pulled while a client polls: the other
//      one powers it off before it takes the floating IP.
//   2. The Keepalived way: `belay keepalived -f keepalived.conf` on two nginx
//      load balancers, then a crash of the master.
//   3. Keepalived + LVS: seed 002's virtual_server (wrr, DR) on two directors
//      over nftables, a real server failing and coming back.
// The offline part (crm on a CIB file, crm_simulate) is scripts/demo-offline.mjs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
if (process.getuid?.() !== 0) {
  console.error('npm run demo builds hosts in network namespaces and needs root.');
  console.error('Run it as root, or try the offline part: node scripts/demo-offline.mjs');
  process.exit(1);
}

let failed = false;
const { runTutorialDemo } = await import(join(root, 'dist/lab/tutorial-demo.js'));
try {
  await runTutorialDemo();
} catch (err) {
  failed = true;
  console.error(`\nthe cluster demo failed: ${err.message}`);
}

console.log('\n');
const { runKeepalivedDemo } = await import(join(root, 'dist/lab/keepalived-demo.js'));
try {
  await runKeepalivedDemo();
} catch (err) {
  failed = true;
  console.error(`\nthe keepalived demo failed: ${err.message}`);
}

console.log('\n');
const { runLvsDemo } = await import(join(root, 'dist/lab/lvs-demo.js'));
try {
  await runLvsDemo();
} catch (err) {
  failed = true;
  console.error(`\nthe LVS demo failed: ${err.message}`);
}
process.exitCode = failed ? 1 : 0;
