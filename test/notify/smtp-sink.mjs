// A real SMTP server (nodemailer's smtp-server) that appends every message it
// accepts to a file as one JSON line. Used by the mail tests; stopped by PID.
import { appendFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const [host, port, out] = process.argv.slice(2);
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      appendFileSync(
        out,
        `${JSON.stringify({
          helo: session.hostNameAppearsAs,
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        })}\n`,
      );
      callback();
    });
  },
});
server.listen(Number(port), host, () => process.stdout.write(`listening on ${host}:${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
