/**
 * The CLI's last line of defence: an error that escapes every `await` (a rejected promise nobody awaited, an
 * exception thrown from a timer or a stream's event) would otherwise end the process with Node's stack trace and
 * exit code 1, indistinguishable from "some files failed". Here it becomes one line on stderr, without the token,
 * and the documented exit code 70 (EX_SOFTWARE: a bug; README "Exit codes").
 */
import { firstLine, withoutToken } from '../errors.js';
import { EXIT } from '../exit-codes.js';

export function installLastResort(
  token: string | undefined,
  debug: boolean,
  write: (line: string) => void = (line) => process.stderr.write(line),
  exit: (code: number) => never = (code) => process.exit(code),
): void {
  let ended = false;
  const handler = (error: unknown): void => {
    if (ended) return;
    ended = true;
    write(
      `runway-backup: internal error: ${withoutToken(firstLine(error), token)} (a bug: please report it; RUNWAY_BACKUP_DEBUG=1 shows where)\n`,
    );
    if (debug && error instanceof Error && error.stack) write(`${withoutToken(error.stack, token)}\n`);
    exit(EXIT.internal);
  };
  process.on('uncaughtException', handler);
  process.on('unhandledRejection', handler);
}
