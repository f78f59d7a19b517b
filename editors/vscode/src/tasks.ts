// The `cosmosc` task type: `cosmosc check`, `test` or `fmt` run in a project
// folder, with the `$cosmosc` problem matcher for `check`'s output.

import * as path from 'node:path';
import * as vscode from 'vscode';

export const TASK_TYPE = 'cosmosc';
export const TASK_SOURCE = 'cosmosc';
export const PROBLEM_MATCHER = '$cosmosc';
export const TASK_COMMANDS = ['check', 'test', 'fmt'] as const;
export type TaskCommand = (typeof TASK_COMMANDS)[number];

/** A `"type": "cosmosc"` entry of tasks.json (see taskDefinitions in package.json). */
export interface CosmoscTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  command: TaskCommand;
  /** A folder in the project, relative to the workspace folder; the folder itself by default. */
  dir?: string;
}

export function isTaskCommand(value: unknown): value is TaskCommand {
  return typeof value === 'string' && (TASK_COMMANDS as readonly string[]).includes(value);
}

/** The folder the task runs in: `dir` resolved against the workspace folder. */
export function taskCwd(folder: string | undefined, dir: string | undefined): string | undefined {
  if (dir === undefined || dir.trim() === '') {
    return folder;
  }
  return folder === undefined ? dir : path.resolve(folder, dir);
}

/**
 * Builds the task. `cosmosc` finds the project by walking up from the task's
 * folder to the nearest `cosmos.toml`, so each command runs with no path.
 */
export function createTask(
  definition: CosmoscTaskDefinition,
  scope: vscode.WorkspaceFolder | vscode.TaskScope,
  executable: string,
): vscode.Task {
  const folder = typeof scope === 'object' ? scope.uri.fsPath : undefined;
  const cwd = taskCwd(folder, definition.dir);
  const execution = new vscode.ProcessExecution(executable, [definition.command], cwd ? { cwd } : {});
  const task = new vscode.Task(
    definition,
    scope,
    definition.command,
    TASK_SOURCE,
    execution,
    definition.command === 'check' ? [PROBLEM_MATCHER] : [],
  );
  if (definition.command === 'check') {
    task.group = vscode.TaskGroup.Build;
  } else if (definition.command === 'test') {
    task.group = vscode.TaskGroup.Test;
  }
  return task;
}

/** Offers `cosmosc check` per workspace folder and resolves tasks.json entries. */
export class CosmoscTaskProvider implements vscode.TaskProvider {
  /** `executable()` names the cosmosc to run (the `emx.server.path` setting). */
  constructor(readonly executable: () => string) {}

  provideTasks(): vscode.Task[] {
    const folders = vscode.workspace.workspaceFolders ?? [];
    return folders.map((folder) => createTask({ type: TASK_TYPE, command: 'check' }, folder, this.executable()));
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const definition = task.definition as Partial<CosmoscTaskDefinition>;
    if (definition.type !== TASK_TYPE || !isTaskCommand(definition.command)) {
      return undefined;
    }
    const scope = task.scope ?? vscode.TaskScope.Workspace;
    return createTask(definition as CosmoscTaskDefinition, scope, this.executable());
  }
}

/**
 * `cosmosc test --filter NAME --exact` in the project folder: the one test of that
 * name (`--filter` alone matches every name containing NAME), in the Test group.
 */
export function createTestTask(name: string, project: string, executable: string): vscode.Task {
  const definition: CosmoscTaskDefinition = { type: TASK_TYPE, command: 'test' };
  const execution = new vscode.ProcessExecution(executable, ['test', '--filter', name, '--exact'], { cwd: project });
  const task = new vscode.Task(definition, vscode.TaskScope.Workspace, `test ${name}`, TASK_SOURCE, execution, []);
  task.group = vscode.TaskGroup.Test;
  return task;
}
