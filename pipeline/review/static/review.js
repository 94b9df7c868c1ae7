// Keyboard shortcuts, the ? help dialog and the reassign search. Progressive enhancement only: every
// action is a plain link or form that works without this file.
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
  const focus = (id) => { const el = byId(id); if (el) { el.focus(); el.select?.(); } };

  function toggleHelp(show) {
    const open = show === undefined ? !help.open : show;
    if (open && !help.open) help.showModal();
    if (!open && help.open) help.close();
  }

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

  const decideActions = {
    c: () => byId("confirm-button")?.click(),
    r: () => setRejecting(true),
    n: () => focus("note-text"),
  };
  const pageActions = {
    queue: {
      j: () => move(1),
      k: () => move(-1),
      Enter: () => follow(rows[current]?.dataset.href),
      o: () => follow(rows[current]?.dataset.href),
    },
    item: {
      ...decideActions,
      j: () => follow(byId("next-link")?.href),
      k: () => follow(byId("prev-link")?.href),
      a: () => focus("reassign-q"),
      u: () => submit(byId("undo-last-form") ? "undo-last-form" : "undo-form"),
    },
    blind: decideActions,
  };

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      setRejecting(false);
      if (typing(document.activeElement)) document.activeElement.blur();
      return;  // the help dialog closes itself on Escape
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
        rejectForm.requestSubmit(byId("reject-button"));
      }
      event.preventDefault();
      return;
    }
    const action = (pageActions[document.body.dataset.page] || {})[event.key];
    if (action && !help.open) {
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

  byId("select-page")?.addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("input.row-select")) box.checked = event.target.checked;
  });

  byId("help-button").addEventListener("click", () => toggleHelp());
  byId("help-close").addEventListener("click", () => toggleHelp(false));
  help.addEventListener("click", (event) => { if (event.target === help) toggleHelp(false); });

  byId("note-text")?.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit("note-form");
    }
  });

  // Reassign: entries are searched as the analyst types, but nothing is chosen until the arrow keys
  // (or a click) choose one; Enter then reassigns to the chosen entry and Escape cancels.
  const search = byId("reassign-q");
  const results = byId("reassign-results");
  const reassignButton = byId("reassign-button");
  let timer = null;
  let shownFor = "";  // the words the listed entries answer
  const choices = () => Array.from(results.querySelectorAll("input[name=new_entry]"));
  const chosen = () => choices().find((radio) => radio.checked);

  function choose(radio) {
    for (const other of choices()) other.closest(".result").classList.toggle("chosen", other === radio);
    if (radio) {
      radio.checked = true;
      radio.closest(".result").scrollIntoView({ block: "nearest" });
    }
    search.setAttribute("aria-activedescendant", radio ? radio.id : "");
  }

  // A second answer to the same words (a debounced lookup and Enter's can both be in flight) may land
  // after the analyst has chosen with the arrows: it keeps that choice, so it never silently changes
  // what Enter reassigns to. New words clear it: typing alone decides nothing.
  function showEntries(entries, words) {
    const kept = words === shownFor ? chosen()?.value : undefined;
    shownFor = words;
    results.replaceChildren(...entries.map((entry) => {
      const label = document.createElement("label");
      label.className = "result";
      const radio = Object.assign(document.createElement("input"),
        { type: "radio", name: "new_entry", value: entry.id, id: `entry-${entry.id}`, required: true });
      const id = document.createElement("strong");
      id.textContent = entry.id;
      label.append(radio, " ", id, " " + entry.text);
      return label;
    }));
    if (!entries.length && search.value.trim()) results.textContent = "No entry matches.";
    reassignButton.hidden = entries.length === 0;
    choose(choices().find((radio) => radio.value === kept) ?? null);
  }

  async function lookUp() {
    const words = search.value.trim();
    if (!words) { showEntries([], ""); return; }
    const query = new URLSearchParams({ taxonomy: search.dataset.taxonomy, q: words });
    const response = await fetch(`/api/entries?${query}`, { headers: { Accept: "application/json" } });
    if (response.ok && search.value.trim() === words) showEntries((await response.json()).entries, words);
  }

  search?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 150);
  });
  search?.addEventListener("keydown", (event) => {
    const all = choices();
    const at = all.findIndex((radio) => radio.checked);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (all.length) choose(all[Math.min(all.length - 1, Math.max(0, at + (event.key === "ArrowDown" ? 1 : -1)))]);
    } else if (event.key === "Escape") {
      search.value = "";
      showEntries([], "");
    }
  });
  results?.addEventListener("change", (event) => choose(event.target));
  byId("reassign-search")?.addEventListener("submit", (event) => {
    event.preventDefault();  // Enter in the search box: reassign to the chosen entry, if one is chosen
    if (chosen()) byId("reassign-form").requestSubmit();
    else if (search.value.trim() !== shownFor) { clearTimeout(timer); lookUp(); }
  });
})();
