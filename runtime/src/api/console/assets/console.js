// The console's one script: refreshes the parts of a page marked `data-live`,
// keyboard navigation, and checks JSON fields of signal forms before they are sent.
// Pages work without it (links, forms and the browser's own checks).
'use strict';

(function () {
  const REFRESH_MS = 3000;
  let paused = false;
  let busy = false;

  const indicator = document.createElement('p');
  indicator.className = 'live-indicator';
  // Not announced: it changes every few seconds.
  indicator.setAttribute('aria-live', 'off');
  const main = document.getElementById('main');
  if (main && document.querySelector('[data-live]')) main.prepend(indicator);

  function say(text) {
    indicator.textContent = text;
  }

  // The open/closed state of each <details> in a region, by position.
  function openStates(region) {
    return Array.from(region.querySelectorAll('details')).map((d) => d.open);
  }

  // What was typed into a region's form fields (not the hidden ones), by form and
  // field, so that a refresh keeps it.
  function typedValues(region) {
    const values = new Map();
    region.querySelectorAll('input:not([type=hidden]), textarea, select').forEach((field) => {
      if (field.form && field.name) values.set(`${field.form.getAttribute('action')} ${field.name}`, field.value);
    });
    return values;
  }

  function restoreValues(region, values) {
    region.querySelectorAll('input:not([type=hidden]), textarea, select').forEach((field) => {
      const key = field.form && `${field.form.getAttribute('action')} ${field.name}`;
      if (key && values.has(key)) field.value = values.get(key);
    });
  }

  async function refresh() {
    if (paused || busy || document.hidden) return;
    const regions = Array.from(document.querySelectorAll('[data-live][id]'));
    if (regions.length === 0) return;
    // Never pull a region from under the keyboard or the mouse.
    if (regions.some((r) => r.contains(document.activeElement) && document.activeElement !== document.body)) return;
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: 'same-origin', headers: { 'X-Console-Refresh': '1' } });
      if (response.redirected && new URL(response.url).pathname === '/login') {
        location.assign(response.url);
        return;
      }
      if (!response.ok) {
        say(`not refreshed: ${response.status}`);
        return;
      }
      const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const region of regions) {
        const next = fresh.getElementById(region.id);
        if (!next) continue;
        const states = openStates(region);
        const typed = typedValues(region);
        region.replaceWith(next);
        next.querySelectorAll('details').forEach((d, i) => {
          if (i < states.length) d.open = states[i];
        });
        restoreValues(next, typed);
      }
      say(`live · updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      say('not refreshed: the runtime does not answer');
    } finally {
      busy = false;
    }
  }

  if (document.querySelector('[data-live]')) {
    say('live');
    setInterval(refresh, REFRESH_MS);
  }

  function rows() {
    return Array.from(document.querySelectorAll('[data-row] td:first-child a'));
  }

  function typing(target) {
    return target.closest('input, textarea, select, [contenteditable]') !== null;
  }

  let pendingG = false;
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (pendingG) {
      pendingG = false;
      const go = { i: '/', w: '/workflows', s: '/system' }[event.key];
      if (go) {
        event.preventDefault();
        location.assign(go);
      }
      return;
    }
    switch (event.key) {
      case '/': {
        const search = document.getElementById('search');
        if (search) {
          event.preventDefault();
          search.focus();
        }
        break;
      }
      case 'j':
      case 'k': {
        const links = rows();
        if (links.length === 0) return;
        event.preventDefault();
        const at = links.indexOf(document.activeElement);
        const next = event.key === 'j' ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
        links[at === -1 ? 0 : next].focus();
        break;
      }
      case 'g':
        pendingG = true;
        break;
      case 'p':
        paused = !paused;
        say(paused ? 'paused (p to resume)' : 'live');
        break;
      default:
    }
  });

  // JSON fields: checked as they are typed, so the form is not sent with bad JSON.
  document.addEventListener('input', (event) => {
    const field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || !field.hasAttribute('data-json')) return;
    if (field.value.trim() === '') {
      field.setCustomValidity('');
      return;
    }
    try {
      JSON.parse(field.value);
      field.setCustomValidity('');
    } catch (e) {
      field.setCustomValidity(`not JSON: ${e.message}`);
    }
  });
})();
