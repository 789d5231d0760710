/*
 * The web ATM. It talks only to the public API, and keeps the card session's token in this
 * closure: never in localStorage, sessionStorage or a cookie, so closing or reloading the page
 * ends the session. No inline script or style anywhere, so a strict Content-Security-Policy holds.
 *
 * Keyboard and screen-reader users: no control is ever disabled while a request runs (a disabled
 * button drops the focus to <body>); focus stays on the control that was used, or moves to the
 * result (a new panel's heading, a field to correct, the status message).
 */
(function () {
  "use strict";

  const root = document.getElementById("atm");
  const apiRoot = root.dataset.apiRoot;
  const dispenseUrl = root.dataset.dispenseUrl;
  const idleTimeoutMs = Number(root.dataset.idleTimeoutSeconds) * 1000;
  const idleWarningMs = Math.min(Number(root.dataset.idleWarningSeconds) * 1000, idleTimeoutMs);
  const sessionMaxMinutes = Math.round(Number(root.dataset.sessionMaxSeconds) / 60);
  // An active customer's token is renewed once it is this old, so activity never lets it lapse.
  const RENEW_AFTER_MS = 30 * 1000;
  // ... and, if there was any activity since it was issued, this long before it expires.
  const RENEW_BEFORE_EXPIRY_MS = 15 * 1000;
  // Cash is held for this long while it is paid out (the bank allows 30 s at least): a customer
  // who walks away before the withdrawal completes has the money available again within a minute.
  const HOLD_SECONDS = 60;
  // A money request the network lost is sent once more, with the same Idempotency-Key, after this.
  const RESEND_AFTER_MS = 1000;

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

  // {token, accountNumber, currency, issuedAt, expiresAt, renewRefused}
  let session = null;
  let lastActivityAt = 0;
  const timers = { idle: null, warning: null, expiry: null, renew: null };
  let busy = false;
  let renewing = null; // the pending renewal, so activity never sends two at once

  // --- formatting ---------------------------------------------------------------------------

  /* Money arrives as a decimal string ("-1030.5" or "1030.50"); format it as text, never through
   * a float, so no amount is ever rounded: "-1,030.50" (with its currency: "-1,030.50 USD"). */
  function formatNumber(amount) {
    const text = String(amount);
    const negative = text.startsWith("-");
    const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
    const grouped = whole.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + grouped + "." + (fraction + "00").slice(0, 2);
  }

  function formatMoney(amount, currency) {
    return formatNumber(amount) + " " + (currency || session.currency);
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

  // --- what the customer reads --------------------------------------------------------------

  const ENTER_AMOUNT = "Enter an amount like 20 or 12.50.";
  const CALL_THE_BANK = "Please call the bank.";
  const DISPENSE_FAILED =
    "The machine could not dispense your cash. Nothing was taken from your account.";

  /* One plain sentence per problem code. `context` says what was being done: {verb, amount}. */
  const PROBLEM_MESSAGES = {
    authentication_failed: () =>
      "Wrong card number or PIN. Your card is blocked after 3 wrong PINs.",
    card_blocked: () => "Your card is blocked. " + CALL_THE_BANK,
    account_not_active: () => "This account cannot be used at the moment. " + CALL_THE_BANK,
    insufficient_funds: (context) =>
      "Your balance is too low to " + context.verb + " " + formatMoney(context.amount) + ".",
    daily_limit_exceeded: (context) =>
      "You cannot withdraw " + formatMoney(context.amount) +
      " today: it is over your daily limit. Try a smaller amount.",
    currency_mismatch: () =>
      "That account does not take " + session.currency + ". Check the account number.",
    throttled: (context) =>
      "Too many tries. Please wait " + (context.retryAfter || 60) + " seconds and try again.",
    service_unavailable: () => "The bank cannot be reached right now. Please try again soon.",
    server_error: () => "Sorry, something went wrong at the bank. Please try again soon.",
    network: () => "The bank cannot be reached right now. Please try again soon.",
  };

  /* What to tell the customer about a field the bank refused. */
  const FIELD_MESSAGES = {
    amount: ENTER_AMOUNT,
    to_account: "This account cannot receive your transfer. Check the number.",
  };

  function customerMessage(error, context) {
    const message = PROBLEM_MESSAGES[error.problem.code];
    return message ? message(context || {}) : "Sorry, that did not work. Please try again.";
  }

  // --- status, fields and focus -------------------------------------------------------------

  function announce(message, kind) {
    statusRegion.textContent = message;
    statusRegion.classList.toggle("is-error", kind === "error");
    statusRegion.classList.toggle("is-success", kind === "success");
    statusRegion.classList.toggle("is-warning", kind === "warning");
  }

  function errorElement(input) {
    return document.getElementById(input.id + "-error");
  }

  /* Marks a field invalid, says why right under it (and in the status), and puts focus on it. */
  function rejectField(input, message) {
    input.setAttribute("aria-invalid", "true");
    const note = errorElement(input);
    note.textContent = message;
    note.hidden = false;
    announce(message, "error");
    input.focus();
  }

  function clearFieldErrors(scope) {
    for (const input of scope.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      const note = errorElement(input);
      note.textContent = "";
      note.hidden = true;
    }
  }

  /* The field of a form that the bank's validation error names, if the form has it. */
  function refusedField(error, form) {
    const fields = (error.problem.code === "validation_error" && error.problem.errors) || {};
    for (const name of Object.keys(fields)) {
      const input = form && form.elements[name];
      if (input && FIELD_MESSAGES[name]) {
        return { input: input, message: FIELD_MESSAGES[name] };
      }
    }
    return null;
  }

  function setBusy(value) {
    busy = value;
    // aria-busy and aria-disabled, never `disabled`: a disabled button loses the focus.
    root.setAttribute("aria-busy", value ? "true" : "false");
    for (const button of root.querySelectorAll("button")) {
      button.setAttribute("aria-disabled", value ? "true" : "false");
    }
  }

  // --- the API --------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem, retryAfter) {
      super(problem.title || "Request refused");
      this.status = status;
      this.problem = problem;
      this.retryAfter = retryAfter;
    }
  }

  /* Thrown by a step of an action when the session ended while the step waited for the bank. */
  class SessionEnded extends Error {}

  /* The bank's answer that this session is over (expired, or the card can no longer be used). */
  function endsSession(error) {
    return error instanceof ApiError && (error.status === 401 || error.status === 403);
  }

  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function pause(ms) {
    return new Promise((resolve) => window.setTimeout(resolve, ms));
  }

  /* fetch(), with a network failure as an ApiError. `resend`: the request is safe to send once
   * more if the network lost it (it carries an Idempotency-Key, so the bank applies it once). */
  async function fetchOrFail(url, options, resend) {
    try {
      return await fetch(url, options);
    } catch (networkError) {
      if (resend) {
        await pause(RESEND_AFTER_MS);
        return fetchOrFail(url, options, false);
      }
      throw new ApiError(0, { code: "network" });
    }
  }

  function api(method, path, body) {
    return send(method, apiRoot + path, body);
  }

  async function send(method, url, body) {
    const headers = { Accept: "application/json" };
    if (session) {
      headers.Authorization = "Bearer " + session.token;
    }
    const options = { method, headers, credentials: "omit", cache: "no-store" };
    let resend = false;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      // One key per operation the customer asked for: resent, it never moves money twice.
      if (method === "POST" && session) {
        headers["Idempotency-Key"] = newIdempotencyKey();
        resend = true;
      }
      options.body = JSON.stringify(body);
    }
    const response = await fetchOrFail(url, options, resend);
    let data = null;
    try {
      data = await response.json();
    } catch (parseError) {
      data = null;
    }
    if (!response.ok) {
      const problem = data && data.code ? data : { code: "server_error" };
      throw new ApiError(response.status, problem, response.headers.get("Retry-After"));
    }
    return data;
  }

  /* Runs one action while the session lasts. A refusal is told in the customer's words, on the
   * field it concerns when there is one; a session the bank has ended is signed out at once.
   * `context`: {verb, amount, form} for the messages. */
  async function run(action, context) {
    if (busy) {
      return;
    }
    setBusy(true);
    const current = session;
    try {
      await action();
    } catch (error) {
      // What arrives after the session ended (idle sign-out) must not hide why it ended.
      const late = session !== current;
      if (late && (error instanceof SessionEnded || error instanceof ApiError)) {
        return;
      }
      if (!(error instanceof ApiError)) {
        throw error;
      }
      explainRefusal(error, context || {});
    } finally {
      setBusy(false);
    }
  }

  function explainRefusal(error, context) {
    if (session && error.status === 401) {
      signOut("Your session has ended. Please sign in again.");
      return;
    }
    if (session && error.status === 403) {
      signOut("This card can no longer be used here. " + CALL_THE_BANK);
      return;
    }
    const field = refusedField(error, context.form);
    if (field) {
      rejectField(field.input, field.message);
      return;
    }
    announce(customerMessage(error, { ...context, retryAfter: error.retryAfter }), "error");
  }

  // --- keeping an active session alive, and ending an idle one --------------------------------

  function clearTimers() {
    for (const name of Object.keys(timers)) {
      window.clearTimeout(timers[name]);
      timers[name] = null;
    }
  }

  function holdToken(data) {
    const now = Date.now();
    session.token = data.access;
    session.issuedAt = now;
    session.expiresAt = now + data.expires_in * 1000;
    window.clearTimeout(timers.expiry);
    window.clearTimeout(timers.renew);
    timers.expiry = window.setTimeout(signOutAsTokenLapses, session.expiresAt - now);
    // A customer who was active since this token came, then paused, must not lose the session
    // before the idle timeout: renew shortly before the token lapses.
    timers.renew = window.setTimeout(() => {
      if (lastActivityAt > session.issuedAt) {
        renewToken();
      }
    }, Math.max(0, session.expiresAt - now - RENEW_BEFORE_EXPIRY_MS));
  }

  /* Without a renewed token nothing more can be done: say why the session ends. */
  function signOutAsTokenLapses() {
    if (session.renewRefused) {
      signOut(
        "For your safety a session lasts at most " + sessionMaxMinutes +
          " minutes. Please sign in again.",
      );
    } else if (lastActivityAt > session.issuedAt) {
      signOut("Your session has ended. Please sign in again."); // the renewal failed
    } else {
      signOutIdle();
    }
  }

  function signOutIdle() {
    signOut("You were signed out because there was no activity. Please take your card.");
  }

  function renewToken() {
    if (!session || renewing || session.renewRefused) {
      return renewing;
    }
    const current = session;
    renewing = api("POST", "auth/card/extend/", {})
      .then((data) => {
        if (session === current) {
          holdToken(data);
        }
      })
      .catch((error) => {
        // Past the longest session the bank allows: the session ends when this token does.
        if (session === current && error instanceof ApiError && error.status === 401) {
          current.renewRefused = true;
        }
      })
      .finally(() => {
        renewing = null;
      });
    return renewing;
  }

  function scheduleIdleSignOut() {
    window.clearTimeout(timers.idle);
    window.clearTimeout(timers.warning);
    timers.warning = window.setTimeout(() => {
      announce(
        "Are you still there? You will be signed out in " + idleWarningMs / 1000 +
          " seconds. Press any key or touch the screen to stay.",
        "warning",
      );
    }, idleTimeoutMs - idleWarningMs);
    timers.idle = window.setTimeout(signOutIdle, idleTimeoutMs);
  }

  function onActivity() {
    if (!session) {
      return;
    }
    lastActivityAt = Date.now();
    if (statusRegion.classList.contains("is-warning")) {
      announce("You are still signed in.", "");
    }
    scheduleIdleSignOut();
    if (lastActivityAt - session.issuedAt >= RENEW_AFTER_MS) {
      renewToken();
    }
  }

  // --- signing in and out ---------------------------------------------------------------------

  async function startSession(data) {
    session = { accountNumber: data.account_number, currency: "" };
    lastActivityAt = Date.now(); // the sign-in itself; holdToken counts activity after it
    holdToken(data);
    // The sign-in answer names no currency; the balance does, and every amount shown needs it.
    session.currency = (await api("GET", accountPath("balance"))).currency;
    signInForm.reset();
    signInSection.hidden = true;
    sessionSection.hidden = false;
    sessionAccount.hidden = false;
    sessionAccount.textContent = "Account " + lastDigits(data.account_number);
    announce("Signed in to account " + lastDigits(data.account_number) + ".", "success");
    scheduleIdleSignOut();
    sessionHeading.focus();
  }

  function signOut(message) {
    session = null;
    clearTimers();
    closePanel();
    sessionSection.hidden = true;
    sessionAccount.hidden = true;
    sessionAccount.textContent = "";
    signInSection.hidden = false;
    signInForm.reset();
    clearFieldErrors(signInForm);
    announce(message, "");
    cardInput.focus();
  }

  signInForm.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFieldErrors(signInForm);
    const cardNumber = cardInput.value.replace(/[\s-]/g, "");
    const pin = pinInput.value;
    pinInput.value = "";
    if (!/^\d{16}$/.test(cardNumber)) {
      rejectField(cardInput, "Enter the 16-digit number printed on your card.");
      return;
    }
    if (!/^\d{4,6}$/.test(pin)) {
      rejectField(pinInput, "Enter your PIN: 4 to 6 digits.");
      return;
    }
    run(async () => {
      try {
        await startSession(await api("POST", "auth/card/", { card_number: cardNumber, pin: pin }));
      } catch (error) {
        session = null;
        clearTimers();
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
    for (const note of panel.querySelectorAll("[data-currency-note]")) {
      note.textContent = "Amounts in " + session.currency + ".";
    }
    panel.querySelector(".atm-heading").focus();
    return panel;
  }

  function accountPath(action) {
    return "accounts/" + session.accountNumber + "/" + action + "/";
  }

  /* The amount typed in `input`, or null after telling the customer what is wrong with it. */
  function readAmount(input) {
    const amount = input.value.trim();
    if (!/^\d{1,16}(\.\d{1,2})?$/.test(amount) || !/[1-9]/.test(amount)) {
      rejectField(input, ENTER_AMOUNT);
      return null;
    }
    return amount;
  }

  function moneyMoved(verb, transaction, where) {
    return (
      verb + " " + formatMoney(transaction.amount, transaction.currency) + (where || "") +
      ". New balance: " + formatMoney(transaction.balance_after, transaction.currency) + "."
    );
  }

  function showBalance() {
    closePanel();
    return run(async () => {
      const data = await api("GET", accountPath("balance"));
      const balance = formatMoney(data.balance, data.currency);
      const available = formatMoney(data.available_balance, data.currency);
      // Money held for a withdrawal still being paid out is in the balance but cannot be used.
      const held = available === balance ? "" : " Available now: " + available + ".";
      announce("Balance: " + balance + "." + held, "success");
    });
  }

  function holdPath(hold, action) {
    return "holds/" + hold.id + "/" + action + "/";
  }

  /* Asks the machine's dispenser to pay out: true only when it says it did. A dispenser that
   * does not answer paid nothing out as far as the machine knows, so the hold is released. */
  async function dispense() {
    try {
      return (await send("POST", dispenseUrl)).dispensed === true;
    } catch (error) {
      if (endsSession(error)) {
        throw error; // signed out: the hold expires
      }
      return false;
    }
  }

  /* Releases the held cash after a failed dispense. If the bank cannot be reached even so, the
   * hold expires by itself within HOLD_SECONDS: either way nothing is taken. */
  async function releaseAfterFault(hold) {
    try {
      await api("POST", holdPath(hold, "void"), { reason: "dispense_failed" });
    } catch (error) {
      if (endsSession(error)) {
        throw error;
      }
    }
  }

  /* The whole cash withdrawal, in one place: a quick amount or the form's amount. The money is
   * held first, then paid out, then the hold captured (one withdrawal posted); a dispenser fault
   * voids the hold, so the customer is never debited for cash the machine did not give. A
   * customer signed out meanwhile (idle) gets nothing, and the hold expires. The menu ignores
   * presses while this runs, so there is no explicit sign-out in the middle of it. */
  function withdraw(amount, form) {
    return run(
      async () => {
        const current = session;
        // Each step waits for the bank or the dispenser; once signed out, nothing more is done.
        const step = async (pending) => {
          const result = await pending;
          if (session !== current) {
            throw new SessionEnded();
          }
          return result;
        };
        const hold = await step(
          api("POST", accountPath("holds"), { amount: amount, expires_in: HOLD_SECONDS }),
        );
        announce("Dispensing\u2026", "");
        if (!(await step(dispense()))) {
          await step(releaseAfterFault(hold));
          announce(DISPENSE_FAILED, "error");
          return;
        }
        const transaction = await step(api("POST", holdPath(hold, "capture"), {}));
        announce(moneyMoved("Withdrew", transaction) + " Please take your cash.", "success");
        if (form) {
          form.reset();
        }
      },
      { verb: "withdraw", amount: amount, form: form },
    );
  }

  function openWithdraw(menuButton) {
    const section = openPanel("withdraw", menuButton);
    const form = section.querySelector("form");
    for (const quick of section.querySelectorAll("[data-amount]")) {
      quick.addEventListener("click", () => {
        clearFieldErrors(form);
        withdraw(quick.dataset.amount, null);
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      const amount = readAmount(form.elements.amount);
      if (amount !== null) {
        withdraw(amount, form);
      }
    });
  }

  function openDeposit(menuButton) {
    const form = openPanel("deposit", menuButton).querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      const amount = readAmount(form.elements.amount);
      if (amount === null) {
        return;
      }
      run(
        async () => {
          const transaction = await api("POST", accountPath("deposit"), { amount: amount });
          announce(moneyMoved("Deposited", transaction), "success");
          form.reset();
        },
        { verb: "deposit", amount: amount, form: form },
      );
    });
  }

  function openTransfer(menuButton) {
    const section = openPanel("transfer", menuButton);
    const form = section.querySelector("form");
    const confirmation = section.querySelector("[data-confirm]");
    let pending = null; // {toAccount, amount} shown for confirmation

    function review(toAccount, amount) {
      pending = { toAccount: toAccount, amount: amount };
      confirmation.querySelector("[data-confirm-to]").textContent = toAccount;
      confirmation.querySelector("[data-confirm-amount]").textContent = formatMoney(amount);
      form.hidden = true;
      confirmation.hidden = false;
      announce(
        "Transfer " + formatMoney(amount) + " to account " + toAccount + "? Confirm or change it.",
        "",
      );
      confirmation.querySelector("[data-confirm-send]").focus();
    }

    function backToForm() {
      confirmation.hidden = true;
      form.hidden = false;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      const toAccount = form.elements.to_account.value.replace(/\s/g, "");
      if (!/^\d{6,20}$/.test(toAccount)) {
        rejectField(form.elements.to_account, "Enter the account number: 6 to 20 digits.");
        return;
      }
      const amount = readAmount(form.elements.amount);
      if (amount !== null) {
        review(toAccount, amount);
      }
    });

    confirmation.querySelector("[data-confirm-back]").addEventListener("click", () => {
      backToForm();
      form.elements.to_account.focus();
    });

    confirmation.querySelector("[data-confirm-send]").addEventListener("click", () => {
      const { toAccount, amount } = pending;
      run(
        async () => {
          try {
            const transaction = await api("POST", "transfers/", {
              from_account: session.accountNumber,
              to_account: toAccount,
              amount: amount,
            });
            backToForm();
            form.reset();
            announce(moneyMoved("Transferred", transaction, " to " + toAccount), "success");
            statusRegion.focus();
          } catch (error) {
            // The form is where anything refused gets corrected.
            backToForm();
            statusRegion.focus();
            throw error;
          }
        },
        { verb: "transfer", amount: amount, form: form },
      );
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
    // The currency is in the column headers: on a phone it would not fit in every cell.
    for (const amount of [entry.amount, entry.balance_after]) {
      const cell = document.createElement("td");
      cell.className = "atm-num";
      cell.textContent = formatNumber(amount);
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
      for (const header of section.querySelectorAll("[data-currency-header]")) {
        header.textContent = header.dataset.currencyHeader + " (" + session.currency + ")";
      }
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
    if (!button || !session || busy) {
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

  // Any key, tap or click is activity: it postpones the idle sign-out and keeps the token fresh.
  for (const type of ["keydown", "pointerdown", "input"]) {
    document.addEventListener(type, onActivity, { passive: true });
  }

  cardInput.focus();
})();
