// Locating the `cosmosc` executable that serves the Emx language server.
//
// This module deliberately does not import `vscode`, so that it can be unit
// tested with plain Node (see test/unit/serverPath.test.js).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The setting that names the server executable. */
export const SERVER_PATH_SETTING = 'emx.server.path';
/** The setting that lists the server's arguments. */
export const SERVER_ARGS_SETTING = 'emx.server.args';
export const DEFAULT_SERVER_PATH = 'cosmosc';
export const DEFAULT_SERVER_ARGS: readonly string[] = ['lsp'];

export interface ResolveOptions {
  /** Environment whose PATH (and PATHEXT on Windows) is searched. */
  env?: NodeJS.ProcessEnv;
  /** `process.platform` value; defaults to the current platform. */
  platform?: NodeJS.Platform;
  /** Folder that relative paths such as `./target/debug/cosmosc` are resolved against. */
  cwd?: string;
  /** Value substituted for `${workspaceFolder}`. */
  workspaceFolder?: string;
  /** Home directory used for `~` and `${userHome}`. */
  home?: string;
}

export type Resolution =
  | { found: true; command: string; configured: string }
  | { found: false; configured: string; reason: string };

/** Expands `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}` in a configured path. */
export function expandVariables(value: string, options: ResolveOptions = {}): string {
  const home = options.home ?? os.homedir();
  const env = options.env ?? process.env;
  let result = value.trim();
  if (result === '~') {
    result = home;
  } else if (result.startsWith('~/') || result.startsWith('~\\')) {
    result = path.join(home, result.slice(2));
  }
  result = result.replace(/\$\{userHome\}/g, home);
  if (options.workspaceFolder !== undefined) {
    result = result.replace(/\$\{workspaceFolder\}/g, options.workspaceFolder);
  }
  result = result.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '');
  return result;
}

function isExecutableFile(file: string, platform: NodeJS.Platform): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function windowsExtensions(env: NodeJS.ProcessEnv): string[] {
  const pathext = env.PATHEXT ?? env.Pathext ?? '.COM;.EXE;.BAT;.CMD';
  return ['', ...pathext.split(';').filter((e) => e.length > 0)];
}

function candidates(file: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform !== 'win32' || path.extname(file) !== '') {
    return [file];
  }
  return windowsExtensions(env).map((ext) => file + ext);
}

function hasDirectoryPart(p: string, platform: NodeJS.Platform): boolean {
  return p.includes('/') || (platform === 'win32' && p.includes('\\'));
}

/**
 * Finds the executable named by `emx.server.path`.
 *
 * - an absolute path must exist and be executable;
 * - a path with a directory part (`./bin/cosmosc`) is resolved against `cwd`;
 * - a bare name (`cosmosc`) is searched on PATH (with PATHEXT on Windows).
 */
export function resolveServerCommand(configured: string | undefined, options: ResolveOptions = {}): Resolution {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const raw = (configured ?? '').trim() === '' ? DEFAULT_SERVER_PATH : (configured ?? '').trim();
  const expanded = expandVariables(raw, options);
  // Decide the *kind* of path with the target platform's rules; join and
  // resolve with the host's (they are the same thing outside of tests).
  const pathApi = platform === 'win32' ? path.win32 : path.posix;

  if (pathApi.isAbsolute(expanded) || hasDirectoryPart(expanded, platform)) {
    const absolute = pathApi.isAbsolute(expanded)
      ? expanded
      : path.resolve(options.cwd ?? process.cwd(), expanded);
    for (const candidate of candidates(absolute, platform, env)) {
      if (isExecutableFile(candidate, platform)) {
        return { found: true, command: candidate, configured: raw };
      }
    }
    const exists = fs.existsSync(absolute);
    return {
      found: false,
      configured: raw,
      reason: exists ? `${absolute} is not an executable file` : `${absolute} does not exist`,
    };
  }

  const searchPath = env.PATH ?? env.Path ?? '';
  const dirs = searchPath.split(platform === 'win32' ? ';' : ':').filter((d) => d.length > 0);
  for (const dir of dirs) {
    for (const candidate of candidates(path.join(dir, expanded), platform, env)) {
      if (isExecutableFile(candidate, platform)) {
        return { found: true, command: candidate, configured: raw };
      }
    }
  }
  return { found: false, configured: raw, reason: `'${expanded}' was not found on PATH` };
}

/** Normalises the `emx.server.args` setting: a list of strings, defaulting to `["lsp"]`. */
export function serverArgs(value: unknown): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return [...(value as string[])];
  }
  return [...DEFAULT_SERVER_ARGS];
}

/** How to install cosmosc, shown when the server cannot be started. */
export const INSTALL_HINT =
  'Install cosmosc from the Cosmos repository with `cargo install --path cli` ' +
  '(or build it with `cargo build --release -p cosmosc`), make sure it is on your PATH, ' +
  `or set "${SERVER_PATH_SETTING}" to the full path of the cosmosc executable.`;

/** The message shown when the configured server executable cannot be found. */
export function missingServerMessage(configured: string, reason: string): string {
  return (
    `Emx: cannot start the language server: ${reason} (setting "${SERVER_PATH_SETTING}" is "${configured}"). ` +
    INSTALL_HINT
  );
}

/** The message shown when the server process could not be spawned or failed to start. */
export function startFailedMessage(command: string, args: readonly string[], error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const notFound = code === 'ENOENT' || /ENOENT/.test(detail);
  const invocation = [command, ...args].join(' ');
  if (notFound) {
    return missingServerMessage(command, `'${invocation}' could not be executed (ENOENT)`);
  }
  return (
    `Emx: the language server '${invocation}' failed to start: ${detail}. ` +
    `Check the "${SERVER_PATH_SETTING}" and "${SERVER_ARGS_SETTING}" settings and the "Emx Language Server" output.`
  );
}
