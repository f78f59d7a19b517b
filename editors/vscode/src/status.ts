// The status bar item that shows the language server's state; clicking it
// shows the server's output channel.

import * as vscode from 'vscode';
import { State } from 'vscode-languageclient/node';

export type ServerStatus = 'starting' | 'running' | 'stopped' | 'failed';

/** The status bar item's id (users can hide it by this id). */
export const STATUS_ITEM_ID = 'emx.serverStatus';

/** Maps a LanguageClient state to the status shown. */
export function statusFromClientState(state: State): ServerStatus {
  switch (state) {
    case State.Starting:
      return 'starting';
    case State.Running:
      return 'running';
    default:
      return 'stopped';
  }
}

const TEXT: Record<ServerStatus, string> = {
  starting: '$(sync~spin) Emx',
  running: '$(check) Emx',
  stopped: '$(circle-slash) Emx',
  failed: '$(error) Emx',
};

const TOOLTIP: Record<ServerStatus, string> = {
  starting: 'Emx language server: starting',
  running: 'Emx language server: running',
  stopped: 'Emx language server: stopped',
  failed: 'Emx language server: failed to start',
};

/** The item: created visible, showing `stopped` until told otherwise. */
export class ServerStatusItem implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private current: ServerStatus = 'stopped';

  constructor(showOutputCommand: string) {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'Emx Language Server';
    this.item.command = { title: 'Show Language Server Output', command: showOutputCommand };
    this.set('stopped');
    this.item.show();
  }

  get status(): ServerStatus {
    return this.current;
  }

  /** Shows `status`; `detail` (such as an error message) is added to the tooltip. */
  set(status: ServerStatus, detail?: string): void {
    this.current = status;
    this.item.text = TEXT[status];
    this.item.tooltip = `${TOOLTIP[status]}${detail ? `\n${detail}` : ''}\nClick to show the output.`;
    this.item.backgroundColor = status === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
