// The Emx extension: starts `cosmosc lsp` (configurable) over stdio and wires
// it to VS Code with vscode-languageclient.

import * as vscode from 'vscode';
import {
  Executable,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import {
  DEFAULT_SERVER_PATH,
  SERVER_PATH_SETTING,
  missingServerMessage,
  resolveServerCommand,
  serverArgs,
  startFailedMessage,
} from './serverPath';
import { ServerStatusItem, statusFromClientState } from './status';
import { CosmoscTaskProvider, createTestTask, TASK_TYPE } from './tasks';

const CLIENT_ID = 'emx';
const CLIENT_NAME = 'Emx Language Server';
const OPEN_SETTINGS = 'Open Settings';
const SHOW_OUTPUT = 'Show Output';

let client: LanguageClient | undefined;
let outputChannel: vscode.OutputChannel | undefined;
let traceChannel: vscode.OutputChannel | undefined;
let statusItem: ServerStatusItem | undefined;
let fileWatchers: vscode.FileSystemWatcher[] = [];
/** Serialises start/stop/restart so that quick setting changes cannot race. */
let queue: Promise<unknown> = Promise.resolve();

function enqueue<T>(task: () => Promise<T>): Promise<T> {
  const next = queue.then(task, task);
  queue = next.catch(() => undefined);
  return next;
}

function log(message: string): void {
  outputChannel?.appendLine(`[${new Date().toISOString()}] ${message}`);
}

function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

async function showStartError(message: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, OPEN_SETTINGS, SHOW_OUTPUT);
  if (choice === OPEN_SETTINGS) {
    await vscode.commands.executeCommand('workbench.action.openSettings', SERVER_PATH_SETTING);
  } else if (choice === SHOW_OUTPUT) {
    outputChannel?.show(true);
  }
}

/**
 * How the client launches the server: `command args…` over stdio, in the workspace
 * folder. With `TransportKind.stdio` the client appends `--stdio` to the arguments,
 * which `cosmosc lsp` accepts.
 */
export function serverOptions(command: string, args: string[], folder: string | undefined): ServerOptions {
  const executable: Executable = {
    command,
    args,
    transport: TransportKind.stdio,
    options: folder ? { cwd: folder } : {},
  };
  return { run: executable, debug: executable };
}

/** The language client for `command args…`, as the extension starts it. */
export function createClient(command: string, args: string[], folder: string | undefined): LanguageClient {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'emx' },
      { scheme: 'untitled', language: 'emx' },
    ],
    synchronize: { fileEvents: fileWatchers },
    outputChannel,
    traceOutputChannel: traceChannel,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationFailedHandler: (error) => {
      log(`The language server failed to initialize: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    },
  };
  return new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions(command, args, folder), clientOptions);
}

/** Starts the language server. Resolves to true when the client is running. */
async function startServer(): Promise<boolean> {
  const config = vscode.workspace.getConfiguration('emx');
  const configured = config.get<string>('server.path', DEFAULT_SERVER_PATH);
  const args = serverArgs(config.get<unknown>('server.args'));
  const folder = workspaceFolder();
  statusItem?.set('starting');

  const resolution = resolveServerCommand(configured, { cwd: folder, workspaceFolder: folder });
  if (!resolution.found) {
    const message = missingServerMessage(resolution.configured, resolution.reason);
    log(message);
    statusItem?.set('failed', message);
    void showStartError(message);
    return false;
  }

  log(`Starting ${[resolution.command, ...args, '--stdio'].join(' ')}${folder ? ` in ${folder}` : ''}`);
  const candidate = createClient(resolution.command, args, folder);
  client = candidate;
  candidate.onDidChangeState((event) => {
    // Only the current client speaks for the server; a replaced or failed one is ignored.
    if (client === candidate) {
      statusItem?.set(statusFromClientState(event.newState));
    }
  });
  try {
    await candidate.start();
    log('Language server started.');
    return true;
  } catch (error) {
    if (client === candidate) {
      client = undefined;
    }
    const message = startFailedMessage(resolution.command, args, error);
    log(message);
    statusItem?.set('failed', message);
    void showStartError(message);
    try {
      await candidate.dispose();
    } catch {
      // The process never came up; nothing left to clean.
    }
    return false;
  }
}

async function stopServer(): Promise<void> {
  const running = client;
  client = undefined;
  if (!running) {
    return;
  }
  statusItem?.set('stopped');
  try {
    if (running.state !== State.Stopped) {
      await running.stop(5000);
    }
  } catch (error) {
    log(`Stopping the language server failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    await running.dispose();
  } catch {
    // Already stopped.
  }
}

/** Stops the server if it is running and starts it again with the current settings. */
export function restartServer(): Promise<boolean> {
  return enqueue(async () => {
    log('Restarting the language server.');
    await stopServer();
    const started = await startServer();
    if (started) {
      void vscode.window.setStatusBarMessage('Emx language server restarted', 3000);
    }
    return started;
  });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  traceChannel = vscode.window.createOutputChannel(`${CLIENT_NAME} Trace`);
  fileWatchers = [
    vscode.workspace.createFileSystemWatcher('**/*.emx'),
    vscode.workspace.createFileSystemWatcher('**/cosmos.toml'),
  ];
  statusItem = new ServerStatusItem('emx.showOutput');
  const taskProvider = new CosmoscTaskProvider(() => {
    const configured = vscode.workspace.getConfiguration('emx').get<string>('server.path', DEFAULT_SERVER_PATH);
    const folder = workspaceFolder();
    const resolution = resolveServerCommand(configured, { cwd: folder, workspaceFolder: folder });
    return resolution.found ? resolution.command : resolution.configured;
  });
  context.subscriptions.push(
    statusItem,
    vscode.tasks.registerTaskProvider(TASK_TYPE, taskProvider),
    outputChannel,
    traceChannel,
    ...fileWatchers,
    vscode.commands.registerCommand('emx.restartServer', () => restartServer()),
    vscode.commands.registerCommand('emx.showOutput', () => outputChannel?.show(true)),
    vscode.commands.registerCommand('cosmos.runTest', (name: string, project: string) =>
      vscode.tasks.executeTask(createTestTask(name, project, taskProvider.executable())),
    ),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('emx.server')) {
        log('Server settings changed.');
        void restartServer();
      }
    }),
  );
  await enqueue(() => startServer());
}

export function deactivate(): Promise<void> {
  return enqueue(() => stopServer());
}
