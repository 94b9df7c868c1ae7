// Keyboard shortcuts, the ? help overlay and live entry search. Progressive enhancement only:
// every action is a plain link or form that works without this file.
(() => {
  "use strict";
  const byId = (id) => document.getElementById(id);
  const help = byId("help");
  const rejectForm = byId("reject-form");
  const rejectHint = byId("reject-hint");
  const rows = Array.from(document.querySelectorAll("tr.row"));
  let current = -1;
  let rejecting = false;

  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  const submit = (id) => { const form = byId(id); if (form) form.requestSubmit(); };
  const follow = (href) => { if (href) window.location.assign(href); };
  const toggleHelp = (show) => { help.hidden = show === undefined ? !help.hidden : !show; };
  const focus = (id) => { const el = byId(id); if (el) { el.focus(); el.select?.(); } };

  function setRejecting(on) {
    if (!rejectForm) return;
    rejecting = on;
    rejectForm.classList.toggle("rejecting", on);
    rejectHint.hidden = !on;
  }

  function move(step) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.min(rows.length - 1, Math.max(0, current + step));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  const pageActions = {
    queue: {
      j: () => move(1),
      k: () => move(-1),
      Enter: () => follow(rows[current]?.dataset.href),
      o: () => follow(rows[current]?.dataset.href),
    },
    item: {
      j: () => follow(byId("next-link")?.href),
      k: () => follow(byId("prev-link")?.href),
      c: () => submit("confirm-form"),
      r: () => setRejecting(true),
      a: () => focus("reassign-q"),
      n: () => focus("note-text"),
      u: () => submit("undo-form"),
    },
  };

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      toggleHelp(false);
      setRejecting(false);
      if (typing(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "?") {
      toggleHelp();
      event.preventDefault();
      return;
    }
    if (rejecting && /^[1-9]$/.test(event.key)) {
      const option = byId("reject-reason").querySelector(`option[data-key="${event.key}"]`);
      if (option) {
        option.selected = true;
        rejectForm.requestSubmit();
      }
      event.preventDefault();
      return;
    }
    const action = (pageActions[document.body.dataset.page] || {})[event.key];
    if (action && help.hidden) {
      event.preventDefault();
      action();
    }
  });

  // Leave empty and default filters out of the queue's address, so it stays short enough to read and share.
  byId("filters")?.addEventListener("submit", (event) => {
    for (const field of event.target.elements) {
      if (field.name && (!field.value || field.value === field.dataset.default)) field.disabled = true;
    }
  });

  byId("help-button").addEventListener("click", () => toggleHelp());
  help.addEventListener("click", (event) => { if (event.target === help) toggleHelp(false); });

  const note = byId("note-text");
  note?.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit("note-form");
    }
  });

  // Reassign: search entries as the analyst types; Enter reassigns to the selected result.
  const search = byId("reassign-q");
  const results = byId("reassign-results");
  const reassignButton = byId("reassign-button");
  let timer = null;

  function showEntries(entries) {
    results.replaceChildren(...entries.map((entry, index) => {
      const label = document.createElement("label");
      label.className = "result";
      const radio = Object.assign(document.createElement("input"),
        { type: "radio", name: "new_entry", value: entry.id, checked: index === 0 });
      const id = document.createElement("strong");
      id.textContent = entry.id;
      label.append(radio, id, " " + entry.text);
      return label;
    }));
    if (!entries.length && search.value.trim()) results.textContent = "No entry matches.";
    reassignButton.hidden = entries.length === 0;
  }

  async function lookUp() {
    const words = search.value.trim();
    if (!words) { showEntries([]); return; }
    const query = new URLSearchParams({ taxonomy: search.dataset.taxonomy, q: words });
    const response = await fetch(`/api/entries?${query}`, { headers: { Accept: "application/json" } });
    if (response.ok) showEntries((await response.json()).entries);
  }

  search?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 150);
  });
  byId("reassign-search")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    await lookUp();
    if (results.querySelector("input[name=new_entry]:checked")) byId("reassign-form").requestSubmit();
  });
})();
