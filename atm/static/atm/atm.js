/*
 * The web ATM. It talks only to the public API, and keeps the card session's token in this
 * closure: never in localStorage, sessionStorage or a cookie, so closing or reloading the page
 * ends the session. No inline script or style anywhere, so a strict Content-Security-Policy holds.
 */
(function () {
  "use strict";

  const root = document.getElementById("atm");
  const apiRoot = root.dataset.apiRoot;
  const idleTimeoutMs = Number(root.dataset.idleTimeoutSeconds) * 1000;

  const statusRegion = document.getElementById("status");
  const signInSection = document.getElementById("signin-section");
  const signInForm = document.getElementById("signin-form");
  const cardInput = document.getElementById("card-number");
  const pinInput = document.getElementById("pin");
  const sessionSection = document.getElementById("session-section");
  const sessionHeading = document.getElementById("session-heading");
  const sessionAccount = document.getElementById("session-account");
  const menu = sessionSection.querySelector(".atm-menu");
  const panel = document.getElementById("panel");

  let session = null; // {token, accountNumber}
  let idleTimer = null;
  let expiryTimer = null;
  let busy = false;

  // --- formatting ---------------------------------------------------------------------------

  /* Money arrives as a decimal string ("-1030.5" or "1030.50"); format it as text, never through
   * a float, so no amount is ever rounded: "-1,030.50". */
  function formatMoney(amount) {
    const text = String(amount);
    const negative = text.startsWith("-");
    const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + grouped + "." + (fraction + "00").slice(0, 2);
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });

  function lastDigits(number) {
    return "\u2022\u2022\u2022\u2022 " + number.slice(-4);
  }

  // --- status and focus ---------------------------------------------------------------------

  function announce(message, kind) {
    statusRegion.textContent = message;
    statusRegion.classList.toggle("is-error", kind === "error");
    statusRegion.classList.toggle("is-success", kind === "success");
  }

  function setBusy(value) {
    busy = value;
    root.setAttribute("aria-busy", value ? "true" : "false");
    for (const button of root.querySelectorAll("button")) {
      button.disabled = value;
    }
  }

  // --- the API --------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.title || "Request refused");
      this.status = status;
      this.problem = problem;
    }
  }

  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (session) {
      headers.Authorization = "Bearer " + session.token;
    }
    const options = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      // One key per press of a button: a retried request never moves money twice.
      if (method === "POST" && session) {
        headers["Idempotency-Key"] = newIdempotencyKey();
      }
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(apiRoot + path, options);
    } catch (networkError) {
      throw new ApiError(0, { title: "The bank cannot be reached; please try again" });
    }
    let data = null;
    try {
      data = await response.json();
    } catch (parseError) {
      data = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, data || { title: "Request refused" });
    }
    return data;
  }

  function describeError(error) {
    const problem = error.problem || {};
    const title = problem.title || error.message;
    if (problem.code === "validation_error" && problem.errors) {
      const first = Object.values(problem.errors)[0];
      if (first && first.length) {
        return title + ": " + first[0];
      }
    }
    return title;
  }

  /* Runs one action: buttons disabled meanwhile, any refusal shown by its problem title, and an
   * expired or revoked session ends at once. */
  async function run(action) {
    if (busy) {
      return;
    }
    setBusy(true);
    try {
      await action();
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      if (session && error.status === 401) {
        signOut("Your session has ended: please sign in again.");
      } else {
        announce(describeError(error), "error");
      }
    } finally {
      setBusy(false);
    }
  }

  // --- signing in and out ---------------------------------------------------------------------

  function resetIdleTimer() {
    if (!session) {
      return;
    }
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(() => {
      signOut("Signed out: no activity for " + idleTimeoutMs / 1000 + " seconds.");
    }, idleTimeoutMs);
  }

  function startSession(data) {
    session = { token: data.access, accountNumber: data.account_number };
    signInForm.reset();
    signInSection.hidden = true;
    sessionSection.hidden = false;
    sessionAccount.hidden = false;
    sessionAccount.textContent = "Account " + lastDigits(data.account_number);
    announce("Signed in to account " + lastDigits(data.account_number) + ".", "success");
    resetIdleTimer();
    // The token cannot be refreshed: when it expires the session is over, active or not.
    expiryTimer = window.setTimeout(() => {
      signOut("Your session has ended: please sign in again.");
    }, data.expires_in * 1000);
    sessionHeading.focus();
  }

  function signOut(message) {
    session = null;
    window.clearTimeout(idleTimer);
    window.clearTimeout(expiryTimer);
    closePanel();
    sessionSection.hidden = true;
    sessionAccount.hidden = true;
    sessionAccount.textContent = "";
    signInSection.hidden = false;
    signInForm.reset();
    announce(message, "");
    cardInput.focus();
  }

  signInForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const cardNumber = cardInput.value.replace(/[\s-]/g, "");
    const pin = pinInput.value;
    pinInput.value = "";
    if (!/^\d{16}$/.test(cardNumber)) {
      announce("Enter the card's 16-digit number.", "error");
      cardInput.focus();
      return;
    }
    if (!/^\d{4,6}$/.test(pin)) {
      announce("Enter your PIN: 4 to 6 digits.", "error");
      pinInput.focus();
      return;
    }
    run(async () => {
      try {
        startSession(await api("POST", "auth/card/", { card_number: cardNumber, pin: pin }));
      } catch (error) {
        pinInput.focus();
        throw error;
      }
    });
  });

  // --- panels -------------------------------------------------------------------------------

  function closePanel() {
    panel.replaceChildren();
    for (const button of menu.querySelectorAll("button")) {
      button.removeAttribute("aria-current");
    }
  }

  function openPanel(name, menuButton) {
    closePanel();
    const template = document.getElementById(name + "-template");
    panel.appendChild(template.content.cloneNode(true));
    if (menuButton) {
      menuButton.setAttribute("aria-current", "true");
    }
    panel.querySelector(".atm-heading").focus();
    return panel;
  }

  function accountPath(action) {
    return "accounts/" + session.accountNumber + "/" + action + "/";
  }

  function showBalance() {
    closePanel();
    return run(async () => {
      const data = await api("GET", accountPath("balance"));
      announce("Balance: " + formatMoney(data.balance) + " " + data.currency + ".", "success");
    });
  }

  function moneyMoved(verb, transaction, where) {
    const currency = " " + transaction.currency;
    return (
      verb + " " + formatMoney(transaction.amount) + currency + (where || "") +
      ". New balance: " + formatMoney(transaction.balance_after) + currency + "."
    );
  }

  function requireAmount(input) {
    const amount = input.value.trim();
    if (amount === "") {
      announce("Enter an amount.", "error");
      input.focus();
      return null;
    }
    return amount;
  }

  function withdraw(amount) {
    return run(async () => {
      const transaction = await api("POST", accountPath("withdraw"), { amount: amount });
      announce(moneyMoved("Withdrew", transaction), "success");
      const form = panel.querySelector("form");
      if (form) {
        form.reset();
      }
    });
  }

  function openWithdraw(menuButton) {
    const section = openPanel("withdraw", menuButton);
    for (const quick of section.querySelectorAll("[data-amount]")) {
      quick.addEventListener("click", () => withdraw(quick.dataset.amount));
    }
    const form = section.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const amount = requireAmount(form.elements.amount);
      if (amount !== null) {
        withdraw(amount);
      }
    });
  }

  function openDeposit(menuButton) {
    const form = openPanel("deposit", menuButton).querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const amount = requireAmount(form.elements.amount);
      if (amount === null) {
        return;
      }
      run(async () => {
        const transaction = await api("POST", accountPath("deposit"), { amount: amount });
        announce(moneyMoved("Deposited", transaction), "success");
        form.reset();
      });
    });
  }

  function openTransfer(menuButton) {
    const form = openPanel("transfer", menuButton).querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const toAccount = form.elements.to_account.value.replace(/\s/g, "");
      if (toAccount === "") {
        announce("Enter the account to transfer to.", "error");
        form.elements.to_account.focus();
        return;
      }
      const amount = requireAmount(form.elements.amount);
      if (amount === null) {
        return;
      }
      run(async () => {
        const transaction = await api("POST", "transfers/", {
          from_account: session.accountNumber,
          to_account: toAccount,
          amount: amount,
        });
        announce(moneyMoved("Transferred", transaction, " to " + toAccount), "success");
        form.reset();
      });
    });
  }

  function describeKind(entry) {
    const kind = entry.kind.charAt(0).toUpperCase() + entry.kind.slice(1);
    if (!entry.counterparty) {
      return kind;
    }
    return kind + (entry.amount.startsWith("-") ? " to " : " from ") + entry.counterparty;
  }

  function entryRow(entry) {
    const row = document.createElement("tr");
    // What and when share one cell, so the two money columns keep their room on a phone.
    const what = document.createElement("td");
    const description = document.createElement("span");
    description.className = "atm-entry";
    description.textContent = entry.description || describeKind(entry); // never innerHTML
    const when = document.createElement("time");
    when.dateTime = entry.created_at;
    when.textContent = dateFormat.format(new Date(entry.created_at));
    what.append(description, when);
    row.appendChild(what);
    for (const amount of [entry.amount, entry.balance_after]) {
      const cell = document.createElement("td");
      cell.className = "atm-num";
      cell.textContent = formatMoney(amount);
      row.appendChild(cell);
    }
    if (entry.amount.startsWith("-")) {
      row.classList.add("is-debit");
    }
    return row;
  }

  function openMiniStatement(menuButton) {
    closePanel();
    return run(async () => {
      const data = await api("GET", accountPath("mini-statement"));
      const section = openPanel("statement", menuButton);
      section.querySelector("caption").textContent =
        "Last " + data.entries.length + " entries. Balance " + formatMoney(data.balance) + ".";
      const body = section.querySelector("tbody");
      for (const entry of data.entries) {
        body.appendChild(entryRow(entry));
      }
      announce(
        "Mini statement: " + data.entries.length + " entries. Balance: " +
          formatMoney(data.balance) + ".",
        "success",
      );
    });
  }

  menu.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || !session) {
      return;
    }
    switch (button.dataset.action) {
      case "balance":
        showBalance();
        break;
      case "withdraw":
        openWithdraw(button);
        break;
      case "deposit":
        openDeposit(button);
        break;
      case "transfer":
        openTransfer(button);
        break;
      case "mini-statement":
        openMiniStatement(button);
        break;
      case "sign-out":
        signOut("Signed out. Please take your card.");
        break;
      default:
        break;
    }
  });

  // Any key, tap or click keeps an ATM session alive; two idle minutes end it.
  for (const type of ["keydown", "pointerdown", "input"]) {
    document.addEventListener(type, resetIdleTimer, { passive: true });
  }

  cardInput.focus();
})();
