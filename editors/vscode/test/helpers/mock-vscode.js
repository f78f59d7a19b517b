'use strict';
// A small stand-in for the `vscode` module, enough to load and activate the
// extension under plain Node. It records what the extension asks VS Code to do.

const Module = require('node:module');

function createMockVscode(settings = {}) {
  const calls = {
    errors: [],
    infos: [],
    commands: new Map(),
    executed: [],
    output: [],
    statusBar: [],
    statusItems: [],
    taskProviders: new Map(),
    tasksRun: [],
  };

  class Disposable {
    constructor(fn) {
      this._fn = fn;
    }
    static from(...items) {
      return new Disposable(() => items.forEach((d) => d && d.dispose && d.dispose()));
    }
    dispose() {
      if (this._fn) this._fn();
    }
  }
  class EventEmitter {
    constructor() {
      this.listeners = [];
      this.event = (l) => {
        this.listeners.push(l);
        return new Disposable(() => {});
      };
    }
    fire(e) {
      this.listeners.forEach((l) => l(e));
    }
    dispose() {}
  }

  const channel = (name) => ({
    name,
    lines: calls.output,
    append: (s) => calls.output.push(s),
    appendLine: (s) => calls.output.push(s),
    clear() {},
    show() {},
    hide() {},
    replace() {},
    dispose() {},
  });

  class ThemeColor {
    constructor(id) {
      this.id = id;
    }
  }
  class Task {
    constructor(definition, scope, name, source, execution, problemMatchers) {
      Object.assign(this, { definition, scope, name, source, execution, problemMatchers });
    }
  }
  class ProcessExecution {
    constructor(process, args, options) {
      Object.assign(this, { process, args, options });
    }
  }
  const createStatusBarItem = (id, alignment, priority) => {
    const item = { id, alignment, priority, text: '', visible: false, disposed: false };
    item.show = () => (item.visible = true);
    item.hide = () => (item.visible = false);
    item.dispose = () => (item.disposed = true);
    calls.statusItems.push(item);
    return item;
  };

  const configListeners = [];
  const vscode = {
    ThemeColor,
    Task,
    ProcessExecution,
    StatusBarAlignment: { Left: 1, Right: 2 },
    TaskScope: { Global: 1, Workspace: 2 },
    TaskGroup: { Build: { id: 'build' }, Test: { id: 'test' } },
    tasks: {
      registerTaskProvider: (type, provider) => {
        calls.taskProviders.set(type, provider);
        return new Disposable(() => calls.taskProviders.delete(type));
      },
      executeTask: async (task) => {
        calls.tasksRun.push(task);
        return { task, terminate() {} };
      },
    },
    Disposable,
    EventEmitter,
    version: '1.82.0',
    env: { appName: 'mock', language: 'en' },
    Uri: { file: (p) => ({ fsPath: p, scheme: 'file', toString: () => `file://${p}` }), parse: (s) => ({ toString: () => s }) },
    window: {
      createOutputChannel: channel,
      showErrorMessage: async (msg, ...items) => {
        calls.errors.push({ msg, items });
        return undefined;
      },
      showInformationMessage: async (msg) => {
        calls.infos.push(msg);
        return undefined;
      },
      showWarningMessage: async (msg) => {
        calls.infos.push(msg);
        return undefined;
      },
      createStatusBarItem,
      setStatusBarMessage: (msg) => {
        calls.statusBar.push(msg);
        return new Disposable(() => {});
      },
    },
    commands: {
      registerCommand: (id, fn) => {
        calls.commands.set(id, fn);
        return new Disposable(() => calls.commands.delete(id));
      },
      executeCommand: async (...args) => {
        calls.executed.push(args);
      },
    },
    workspace: {
      workspaceFolders: undefined,
      getConfiguration: (section) => ({
        get: (key, def) => {
          const full = section ? `${section}.${key}` : key;
          return Object.prototype.hasOwnProperty.call(settings, full) ? settings[full] : def;
        },
      }),
      onDidChangeConfiguration: (l) => {
        configListeners.push(l);
        return new Disposable(() => {});
      },
      createFileSystemWatcher: () => ({
        onDidCreate: () => new Disposable(() => {}),
        onDidChange: () => new Disposable(() => {}),
        onDidDelete: () => new Disposable(() => {}),
        dispose() {},
      }),
    },
    languages: {},
    _fireConfigurationChange: (affected) =>
      configListeners.forEach((l) => l({ affectsConfiguration: (s) => affected.startsWith(s) || s.startsWith(affected) })),
  };

  // Anything the language client touches at load time that the mock does not
  // define explicitly becomes an inert class, so `class X extends vscode.Y`
  // and enum look-ups work.
  const proxy = new Proxy(vscode, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (typeof prop === 'symbol') return undefined;
      const stub = class {};
      target[prop] = stub;
      return stub;
    },
  });
  return { vscode: proxy, calls };
}

/** Makes `require('vscode')` return `mock` until the returned function is called. */
function installMockVscode(mock) {
  const originalResolve = Module._resolveFilename;
  const originalLoad = Module._load;
  Module._resolveFilename = function (request, ...rest) {
    if (request === 'vscode') return 'vscode';
    return originalResolve.call(this, request, ...rest);
  };
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return mock;
    return originalLoad.call(this, request, ...rest);
  };
  return () => {
    Module._resolveFilename = originalResolve;
    Module._load = originalLoad;
  };
}

function fakeContext() {
  return { subscriptions: [], extensionPath: __dirname, globalState: { get() {}, update: async () => {} } };
}

module.exports = { createMockVscode, installMockVscode, fakeContext };
