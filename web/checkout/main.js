// paylater's hosted checkout page: the shopper opens /checkout/<token>, sees the order and
// the plans with their dated schedules, signs in or registers (with a TOTP code when the
// account has two-step verification), picks or adds a card, picks a plan and confirms.
// Then they go back to the merchant with the outcome signed for it. The page follows the
// checkout live, so a cancellation or expiry shows at once.
//
// It uses only the public API (see api.js). The consumer's access token lives in memory
// and in sessionStorage (so a reload keeps the session), never in a URL; the refresh token
// lives in memory only.

import { ApiError, graphql, subscribe, tokenizeSandboxCard } from "./api.js";
import {
  announce,
  blockError,
  busy,
  byId,
  choice,
  clearErrors,
  element,
  fieldError,
  focusFirstInvalid,
  formatDate,
  formatDateTime,
  formatMoney,
  show,
} from "./view.js";

const MONEY = "amount currencyCode minorUnits";
const CHECKOUT_QUERY = `query Checkout($token: String!) {
  checkout(token: $token) {
    id status expiresAt cancellationReason
    merchant { name }
    shopper { email givenName familyName }
    items { name quantity totalPrice { ${MONEY} } }
    subtotal { ${MONEY} } shipping { ${MONEY} } tax { ${MONEY} } discount { ${MONEY} }
    total { ${MONEY} }
    availablePlans {
      plan name installmentCount dueToday { ${MONEY} }
      installments { sequence dueDate amount { ${MONEY} } }
    }
  }
}`;
const STATUS_SUBSCRIPTION = `subscription CheckoutStatus($token: String!) {
  checkoutStatus(token: $token) { status cancellationReason }
}`;
const CANCEL_URL_QUERY = `query Leave($token: String!) { checkout(token: $token) { signedCancelUrl } }`;
const CARD = "id brand last4 expMonth expYear isDefault";
const ME_QUERY = `query Me { me { email paymentMethods { ${CARD} } } }`;
const SESSION = "session { accessToken refreshToken }";
const ERRORS = "userErrors { field code message }";
const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { ${SESSION} mfaRequired mfaToken ${ERRORS} }
}`;
const VERIFY_MFA = `mutation VerifyMfa($input: VerifyMfaInput!) {
  verifyMfa(input: $input) { ${SESSION} ${ERRORS} }
}`;
const REFRESH = `mutation Refresh($input: RefreshSessionInput!) {
  refreshSession(input: $input) { ${SESSION} ${ERRORS} }
}`;
const REGISTER = `mutation Register($input: RegisterConsumerInput!) {
  registerConsumer(input: $input) { consumer { id } ${ERRORS} }
}`;
const LOGOUT = "mutation Logout { logout { loggedOut } }";
const ADD_CARD = `mutation AddCard($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) { paymentMethod { ${CARD} } ${ERRORS} }
}`;
const CONFIRM = `mutation Confirm($input: ConfirmCheckoutInput!) {
  confirmCheckout(input: $input) { order { id } signedRedirectUrl ${ERRORS} }
}`;

const SESSION_KEY = "paylater.checkout.accessToken";
const checkoutToken = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
const sandbox = document.documentElement.dataset.cardEntry === "sandbox";

const state = {
  checkout: null,
  status: null,
  accessToken: sessionStorage.getItem(SESSION_KEY),
  refreshToken: null,
  mfaToken: null,
  email: null,
  cards: [],
  // A confirmation whose payment the gateway has not settled: sent again with the same key
  // (and input) once the checkout moves on, to learn its outcome.
  pending: null,
  confirming: false,
  ended: false,
  stopLive: () => {},
};

const shopName = () => state.checkout?.merchant.name ?? "the shop";

// ---------------------------------------------------------------------------------------
// Showing the checkout

function renderCheckout(checkout) {
  for (const node of document.querySelectorAll(".shop-name")) node.textContent = checkout.merchant.name;
  byId("merchant-name").textContent = checkout.merchant.name;
  document.title = `Pay ${checkout.merchant.name} · paylater`;
  byId("expiry").textContent = `This checkout is open until ${formatDateTime(checkout.expiresAt)}.`;

  byId("items").replaceChildren(
    ...checkout.items.map((item) =>
      element("li", {}, [
        element("span", { className: "item-name", text: item.name }),
        element("span", { className: "item-quantity", text: `× ${item.quantity}` }),
        element("span", { className: "amount", text: formatMoney(item.totalPrice) }),
      ]),
    ),
  );

  const rows = [["Subtotal", checkout.subtotal]];
  if (checkout.shipping.minorUnits !== 0) rows.push(["Shipping", checkout.shipping]);
  if (checkout.tax.minorUnits !== 0) rows.push(["Tax", checkout.tax]);
  if (checkout.discount.minorUnits !== 0) rows.push(["Discount", checkout.discount, "−"]);
  const totals = rows.map(([label, money, sign = ""]) =>
    element("div", { className: "total-row" }, [
      element("dt", { text: label }),
      element("dd", { className: "amount", text: `${sign}${formatMoney(money)}` }),
    ]),
  );
  totals.push(
    element("div", { className: "total-row grand" }, [
      element("dt", { text: "Total" }),
      element("dd", { className: "amount", text: formatMoney(checkout.total) }),
    ]),
  );
  byId("totals").replaceChildren(...totals);

  renderPlans(checkout.availablePlans);
  prefill(checkout.shopper);
}

function renderPlans(plans) {
  const fieldset = byId("plans");
  const legend = fieldset.querySelector("legend");
  const chosen = selectedPlan()?.plan;
  if (plans.length === 0) {
    fieldset.replaceChildren(
      legend,
      element("p", { className: "notice", text: "No payment plan is available for this order." }),
    );
    byId("confirm").disabled = true;
    return;
  }
  byId("confirm").disabled = false;
  const choices = plans.map((plan) => {
    const id = `plan-${plan.plan}`;
    const dueToday = plan.dueToday.minorUnits > 0;
    const detail = dueToday
      ? `${formatMoney(plan.dueToday)} today, then ${plan.installmentCount - 1} monthly payments`
      : "Nothing to pay today";
    const schedule = element(
      "ol",
      { className: "schedule", attributes: { id: `${id}-schedule` } },
      plan.installments.map((installment) =>
        element("li", {}, [
          element("span", {
            text: installment.sequence === 1 && dueToday
              ? `Today (${formatDate(installment.dueDate)})`
              : formatDate(installment.dueDate),
          }),
          element("span", { className: "amount", text: formatMoney(installment.amount) }),
        ]),
      ),
    );
    return choice({
      group: "plan",
      id,
      value: plan.plan,
      title: plan.name,
      details: [element("p", { className: "choice-detail", text: detail, attributes: { id: `${id}-detail` } }), schedule],
      checked: plan.plan === chosen,
      onChange: () => {
        clearErrors(byId("plans").parentElement);
        renderConfirmSummary();
      },
    });
  });
  fieldset.replaceChildren(legend, ...choices);
  renderConfirmSummary();
}

function selectedPlan() {
  const value = document.querySelector("input[name='plan']:checked")?.value;
  return state.checkout?.availablePlans.find((plan) => plan.plan === value) ?? null;
}

function selectedCardId() {
  return document.querySelector("input[name='card']:checked")?.value ?? null;
}

function renderConfirmSummary() {
  const plan = selectedPlan();
  const summary = byId("confirm-summary");
  const button = byId("confirm");
  if (!plan) {
    summary.textContent = "Choose a plan to see what you pay and when.";
    button.textContent = "Confirm and pay";
    return;
  }
  const later = plan.installments.filter((i) => !(i.sequence === 1 && plan.dueToday.minorUnits > 0));
  const then = later.map((i) => `${formatMoney(i.amount)} on ${formatDate(i.dueDate)}`).join(", ");
  if (plan.dueToday.minorUnits > 0) {
    summary.textContent = `${plan.name}: ${formatMoney(plan.dueToday)} today, then ${then}.`;
    button.textContent = `Confirm and pay ${formatMoney(plan.dueToday)} today`;
  } else {
    summary.textContent = `${plan.name}: nothing today, then ${then}.`;
    button.textContent = "Confirm";
  }
}

function prefill(shopper) {
  if (!shopper) return;
  for (const id of ["login-email", "register-email"]) {
    if (shopper.email && !byId(id).value) byId(id).value = shopper.email;
  }
  if (shopper.givenName && !byId("register-givenName").value) byId("register-givenName").value = shopper.givenName;
  if (shopper.familyName && !byId("register-familyName").value) byId("register-familyName").value = shopper.familyName;
}

// ---------------------------------------------------------------------------------------
// The checkout's life: open, or over (completed, cancelled, expired)

const ENDINGS = {
  COMPLETED: () => ({
    title: "This checkout is already paid",
    text: `An order was made from it. ${shopName()} has the details.`,
  }),
  CANCELLED: (reason) => ({
    title: `${shopName()} cancelled this checkout`,
    text: reason ? `The shop said: “${reason}”. Nothing was charged.` : "Nothing was charged.",
  }),
  EXPIRED: () => ({
    title: "This checkout has expired",
    text: `It was not completed in time, and nothing was charged. Go back to ${shopName()} to start again.`,
  }),
};

function showEnded({ title, text }, { linkText, onLink, href } = {}) {
  state.ended = true;
  state.stopLive();
  show(false, byId("loading"), byId("checkout"));
  byId("ended-title").textContent = title;
  byId("ended-text").textContent = text;
  const link = byId("ended-link");
  if (linkText) {
    link.textContent = linkText;
    link.href = href ?? "#";
    link.onclick = onLink ?? null;
    link.hidden = false;
  } else {
    link.hidden = true;
  }
  show(true, byId("ended"));
  announce(`${title}. ${text}`);
  byId("ended-title").focus();
}

/** Shows the end of the checkout's life, with a signed way back to the merchant. */
async function checkoutOver(status, reason) {
  const ending = ENDINGS[status];
  if (!ending || state.ended) return;
  const back = `Back to ${shopName()}`;
  showEnded(ending(reason), { linkText: back, onLink: leave });
  // A real address for the link too (the click fetches a fresh one, signed just now).
  try {
    const url = await signedCancelUrl();
    byId("ended-link").href = url;
  } catch {
    // The click tries again.
  }
}

function onStatus(status, reason) {
  const previous = state.status;
  state.status = status;
  if (state.pending && status !== "CONFIRMING") {
    // The payment the gateway had not answered is settled: ask for its outcome.
    confirm(state.pending);
    return;
  }
  if (status === "CANCELLED" || status === "EXPIRED") {
    checkoutOver(status, reason);
  } else if (status === "COMPLETED" && !state.confirming) {
    checkoutOver(status, reason);
  } else if (status === "CONFIRMING" && previous === "OPEN" && !state.confirming) {
    announce("A payment for this checkout is being processed.");
  } else if (status === "OPEN" && previous === "CONFIRMING") {
    // A payment made elsewhere was declined: the plans are on offer again.
    reloadCheckout();
  }
}

async function reloadCheckout() {
  try {
    const { checkout } = await graphql(CHECKOUT_QUERY, { token: checkoutToken });
    state.checkout = checkout;
    renderPlans(checkout.availablePlans);
  } catch {
    // What is shown stays; the next change tries again.
  }
}

function followLive() {
  state.stopLive = subscribe(
    STATUS_SUBSCRIPTION,
    { token: checkoutToken },
    {
      onData: ({ checkoutStatus }) => onStatus(checkoutStatus.status, checkoutStatus.cancellationReason),
      onError: () => {},
    },
  );
  // The server marks an expired checkout within seconds; look again at the expiry anyway.
  const untilExpiry = new Date(state.checkout.expiresAt).getTime() - Date.now();
  if (untilExpiry > 0 && untilExpiry < 2 ** 31 - 1) {
    setTimeout(refreshStatus, untilExpiry + 1000);
  }
}

async function refreshStatus() {
  try {
    const { checkout } = await graphql(CHECKOUT_QUERY, { token: checkoutToken });
    onStatus(checkout.status, checkout.cancellationReason);
  } catch {
    // The live subscription still reports changes.
  }
}

async function signedCancelUrl() {
  const { checkout } = await graphql(CANCEL_URL_QUERY, { token: checkoutToken });
  return checkout.signedCancelUrl;
}

/** Sends the shopper back to the merchant's cancel URL, signed with the status now. */
async function leave(event) {
  event?.preventDefault();
  try {
    const url = await signedCancelUrl();
    state.stopLive();
    forgetSession();
    location.assign(url);
  } catch (error) {
    const where = state.ended ? "ended-text" : "confirm-error";
    blockError(where, `We could not take you back to ${shopName()}: ${messageOf(error)}`);
  }
}

// ---------------------------------------------------------------------------------------
// Signing in

function saveSession(session) {
  state.accessToken = session.accessToken;
  state.refreshToken = session.refreshToken;
  sessionStorage.setItem(SESSION_KEY, session.accessToken);
}

function forgetSession() {
  state.accessToken = null;
  state.refreshToken = null;
  state.email = null;
  state.cards = [];
  sessionStorage.removeItem(SESSION_KEY);
}

/** A GraphQL call as the signed-in consumer; an expired access token is refreshed once. */
async function asConsumer(query, variables) {
  try {
    return await graphql(query, variables, state.accessToken);
  } catch (error) {
    if (error.code !== "UNAUTHENTICATED" || !state.refreshToken) throw error;
    const { refreshSession } = await graphql(REFRESH, { input: { refreshToken: state.refreshToken } });
    if (!refreshSession.session) throw error;
    saveSession(refreshSession.session);
    return graphql(query, variables, state.accessToken);
  }
}

function showAccountForm(which) {
  const login = which === "login";
  byId("show-login").setAttribute("aria-pressed", String(login));
  byId("show-register").setAttribute("aria-pressed", String(!login));
  show(login, byId("login-form"));
  show(!login, byId("register-form"));
  show(false, byId("mfa-form"));
}

async function loadConsumer() {
  try {
    const { me } = await asConsumer(ME_QUERY);
    state.email = me.email;
    state.cards = me.paymentMethods;
    renderAccount();
    return true;
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") {
      forgetSession();
      renderAccount();
      return false;
    }
    throw error;
  }
}

function renderAccount() {
  const signedIn = Boolean(state.email);
  show(signedIn, byId("signed-in"), byId("card-step"));
  show(!signedIn, byId("signed-out"), byId("card-signed-out"));
  if (signedIn) {
    byId("signed-in-email").textContent = state.email;
    renderCards();
  }
}

const FIELD_MESSAGES = {
  BLANK: "This is required.",
  INVALID_EMAIL: "Enter an email address like name@example.com.",
  EMAIL_TAKEN: "There is already an account with this email. Sign in instead.",
  WEAK_PASSWORD: "Use 10 to 128 characters, not your email and not one character repeated.",
  TOO_LONG: "This is too long.",
  INVALID: "This contains characters that are not allowed.",
  INVALID_CODE: "That code is wrong, expired or already used. Try the current one.",
};

function messageOf(error) {
  if (error.code === "RATE_LIMITED") {
    const seconds = error.extensions?.retryAfterSeconds;
    return seconds ? `Too many attempts. Try again in ${seconds} seconds.` : "Too many attempts. Try again shortly.";
  }
  if (error instanceof ApiError && error.code === "NETWORK") return error.message;
  return "Something went wrong on our side. Try again in a moment.";
}

/** Shows user errors next to their fields (`<prefix>-<last path segment>`), or in `formErrorId`. */
function showUserErrors(userErrors, prefix, formErrorId) {
  for (const error of userErrors) {
    const field = error.field?.at(-1);
    const inputId = field ? `${prefix}-${field}` : null;
    const message = FIELD_MESSAGES[error.code] ?? error.message;
    if (inputId && byId(`${inputId}-error`)) {
      fieldError(inputId, message);
    } else {
      blockError(formErrorId, message);
    }
  }
}

function requireFilled(form, fields) {
  for (const [inputId, message] of fields) {
    if (!byId(inputId).value.trim()) fieldError(inputId, message);
  }
  focusFirstInvalid(form);
  return !form.querySelector("[aria-invalid='true']");
}

async function signedIn(session) {
  saveSession(session);
  byId("login-password").value = "";
  byId("register-password").value = "";
  byId("mfa-code").value = "";
  state.mfaToken = null;
  await loadConsumer();
  announce(`Signed in as ${state.email}.`);
  (document.querySelector("input[name='card']:checked") ?? byId("card-number"))?.focus();
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!requireFilled(form, [["login-email", "Enter your email."], ["login-password", "Enter your password."]])) return;
  const button = form.querySelector("button[type='submit']");
  busy(button, true, "Signing in…");
  try {
    const input = { email: byId("login-email").value.trim(), password: byId("login-password").value };
    const { login } = await graphql(LOGIN, { input });
    if (login.userErrors.length) {
      // Never which of the two was wrong.
      blockError("login-form-error", "That email and password do not match a paylater account.");
      byId("login-password").focus();
    } else if (login.mfaRequired) {
      state.mfaToken = login.mfaToken;
      show(false, byId("login-form"));
      show(true, byId("mfa-form"));
      announce("Enter the code from your authenticator app.");
      byId("mfa-code").focus();
    } else {
      await signedIn(login.session);
    }
  } catch (error) {
    blockError("login-form-error", messageOf(error));
  } finally {
    busy(button, false);
  }
}

async function onVerifyMfa(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!requireFilled(form, [["mfa-code", "Enter the code from your authenticator app."]])) return;
  const button = form.querySelector("button[type='submit']");
  busy(button, true, "Verifying…");
  try {
    const input = { mfaToken: state.mfaToken, code: byId("mfa-code").value.replace(/\s/g, "") };
    const { verifyMfa } = await graphql(VERIFY_MFA, { input });
    if (verifyMfa.session) {
      await signedIn(verifyMfa.session);
    } else {
      fieldError("mfa-code", FIELD_MESSAGES.INVALID_CODE);
      byId("mfa-code").focus();
    }
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") {
      // The five minutes of the password step are over.
      showAccountForm("login");
      blockError("login-form-error", "That took too long. Sign in again.");
      byId("login-password").focus();
    } else {
      fieldError("mfa-code", messageOf(error));
    }
  } finally {
    busy(button, false);
  }
}

async function onRegister(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!requireFilled(form, [["register-email", "Enter your email."], ["register-password", "Choose a password."]])) return;
  const button = form.querySelector("button[type='submit']");
  busy(button, true, "Creating your account…");
  const optional = (id) => byId(id).value.trim() || null;
  const input = {
    email: byId("register-email").value.trim(),
    password: byId("register-password").value,
    givenName: optional("register-givenName"),
    familyName: optional("register-familyName"),
  };
  try {
    const { registerConsumer } = await graphql(REGISTER, { input });
    if (registerConsumer.userErrors.length) {
      showUserErrors(registerConsumer.userErrors, "register", "register-form-error");
      focusFirstInvalid(form);
      return;
    }
    const { login } = await graphql(LOGIN, { input: { email: input.email, password: input.password } });
    if (!login.session) throw new ApiError("INTERNAL", "no session after registering");
    await signedIn(login.session);
  } catch (error) {
    blockError("register-form-error", messageOf(error));
  } finally {
    busy(button, false);
  }
}

async function onSignOut() {
  const token = state.accessToken;
  forgetSession();
  renderAccount();
  showAccountForm("login");
  announce("Signed out.");
  byId("login-email").focus();
  try {
    await graphql(LOGOUT, {}, token);
  } catch {
    // The access token expires by itself.
  }
}

// ---------------------------------------------------------------------------------------
// Cards

const BRANDS = { VISA: "Visa", MASTERCARD: "Mastercard", AMEX: "American Express", OTHER: "Card" };

function renderCards() {
  const fieldset = byId("cards");
  const legend = fieldset.querySelector("legend");
  const chosen = selectedCardId();
  const cards = state.cards;
  const choices = cards.map((card) => {
    const id = `card-${card.id}`;
    const expiry = `${String(card.expMonth).padStart(2, "0")}/${String(card.expYear).slice(-2)}`;
    return choice({
      group: "card",
      id,
      value: card.id,
      title: `${BRANDS[card.brand] ?? "Card"} ending ${card.last4}`,
      details: [element("p", { className: "choice-detail", text: `Expires ${expiry}`, attributes: { id: `${id}-detail` } })],
      checked: chosen ? card.id === chosen : card.isDefault,
      onChange: () => clearErrors(byId("card-step")),
    });
  });
  fieldset.replaceChildren(legend, ...choices);
  show(cards.length > 0, fieldset);
  show(!sandbox, byId("card-entry-unavailable"));
  show(sandbox && cards.length > 0 && byId("card-form").hidden, byId("show-card-form"));
  if (sandbox && cards.length === 0) show(true, byId("card-form"));
}

function parseExpiry(text) {
  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(text);
  if (!match) return null;
  const month = Number(match[1]);
  const year = match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  return month >= 1 && month <= 12 ? { expMonth: month, expYear: year } : null;
}

const TOKENIZER_FIELDS = {
  invalid_number: ["card-number", "This card number is not valid. Check the digits."],
  invalid_expiry: ["card-expiry", "Enter the expiry as MM/YY."],
  expired_card: ["card-expiry", "This card has expired."],
  invalid_cvc: ["card-cvc", "Enter the 3 or 4 digit security code."],
};

async function onAddCard(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const number = byId("card-number").value.replace(/[\s-]/g, "");
  const expiry = parseExpiry(byId("card-expiry").value);
  const cvc = byId("card-cvc").value.trim();
  if (!/^\d{12,19}$/.test(number)) fieldError("card-number", "Enter the 12 to 19 digits of your card number.");
  if (!expiry) fieldError("card-expiry", "Enter the expiry as MM/YY.");
  if (!/^\d{3,4}$/.test(cvc)) fieldError("card-cvc", "Enter the 3 or 4 digit security code.");
  if (form.querySelector("[aria-invalid='true']")) {
    focusFirstInvalid(form);
    return;
  }
  const button = form.querySelector("button[type='submit']");
  busy(button, true, "Saving card…");
  try {
    const card = await tokenizeSandboxCard({ number, cvc, ...expiry });
    const { addPaymentMethod } = await asConsumer(ADD_CARD, { input: { token: card.token } });
    if (addPaymentMethod.userErrors.length) {
      const [error] = addPaymentMethod.userErrors;
      if (error.code === "CARD_EXPIRED") fieldError("card-expiry", "This card has expired.");
      else blockError("card-form-error", "The card could not be added. Check it, or use another card.");
      focusFirstInvalid(form);
      return;
    }
    const saved = addPaymentMethod.paymentMethod;
    state.cards = [saved, ...state.cards.filter((known) => known.id !== saved.id)];
    form.reset();
    show(false, form);
    renderCards();
    byId(`card-${saved.id}`).checked = true;
    byId(`card-${saved.id}`).focus();
    announce(`${BRANDS[saved.brand] ?? "Card"} ending ${saved.last4} saved and selected.`);
  } catch (error) {
    const [inputId, message] = TOKENIZER_FIELDS[error.code] ?? [];
    if (inputId) {
      fieldError(inputId, message);
      focusFirstInvalid(form);
    } else if (error.code === "UNAUTHENTICATED") {
      sessionEnded();
    } else {
      blockError("card-form-error", error.code === "invalid_request" ? error.message : messageOf(error));
    }
  } finally {
    busy(button, false);
  }
}

// ---------------------------------------------------------------------------------------
// Confirming

const DECLINES = {
  CARD_DECLINED: "Your card was declined. Try another card.",
  INSUFFICIENT_FUNDS: "Your card has insufficient funds. Try another card.",
  CARD_EXPIRED: "This card has expired. Try another card.",
  PAYMENT_PROCESSING_ERROR: "The payment could not be processed. Try again, or use another card.",
};
const ACCOUNT_REFUSALS = {
  SPENDING_LIMIT_EXCEEDED: "This order is more than your available paylater spending limit.",
  ACCOUNT_NOT_IN_GOOD_STANDING:
    "Your paylater account cannot make new orders right now: an instalment is overdue or the account is suspended.",
};
const STILL_RUNNING = new Set(["PAYMENT_PENDING", "IDEMPOTENCY_KEY_IN_USE", "PAYMENT_IN_PROGRESS"]);

function sessionEnded() {
  forgetSession();
  renderAccount();
  showAccountForm("login");
  blockError("login-form-error", "Your session ended. Sign in again to continue.");
  byId("login-email").focus();
}

function onConfirmClick() {
  const section = byId("confirm").closest(".steps");
  clearErrors(section);
  const plan = selectedPlan();
  const cardId = selectedCardId();
  if (!plan) {
    blockError("plans-error", "Choose a plan.");
    document.querySelector("input[name='plan']")?.focus();
    return;
  }
  if (!state.email) {
    blockError("confirm-error", "Sign in or create an account first.");
    (byId("login-form").hidden ? byId("register-email") : byId("login-email")).focus();
    return;
  }
  if (!cardId) {
    blockError("cards-error", "Choose a card, or add one.");
    (document.querySelector("input[name='card']") ?? byId("card-number")).focus();
    return;
  }
  confirm({ plan: plan.plan, paymentMethodId: cardId, idempotencyKey: crypto.randomUUID() });
}

/** Confirms with the plan and card; `attempt.idempotencyKey` makes a repeat safe. */
async function confirm(attempt) {
  if (state.confirming) return;
  state.confirming = true;
  state.pending = null;
  const button = byId("confirm");
  busy(button, true, "Confirming…");
  announce("Confirming your payment…");
  let keepBusy = false;
  try {
    const input = { token: checkoutToken, ...attempt };
    const { confirmCheckout } = await asConsumer(CONFIRM, { input });
    const [refusal] = confirmCheckout.userErrors;
    if (!refusal) {
      keepBusy = true;
      paid(confirmCheckout.signedRedirectUrl);
    } else if (DECLINES[refusal.code]) {
      blockError("cards-error", DECLINES[refusal.code]);
      announce(DECLINES[refusal.code]);
      (document.querySelector("input[name='card']:checked") ?? byId("cards")).focus();
    } else if (refusal.code === "PLAN_NOT_AVAILABLE") {
      blockError("plans-error", "This plan is not available for this order. Choose another.");
      document.querySelector("input[name='plan']")?.focus();
    } else if (ACCOUNT_REFUSALS[refusal.code]) {
      blockError("confirm-error", ACCOUNT_REFUSALS[refusal.code]);
      announce(ACCOUNT_REFUSALS[refusal.code]);
    } else if (refusal.code === "CHECKOUT_NOT_OPEN" || refusal.code === "CHECKOUT_EXPIRED") {
      await refreshStatus();
    } else if (STILL_RUNNING.has(refusal.code)) {
      // The live status tells when it is settled; then the same request learns the outcome.
      state.pending = attempt;
      keepBusy = true;
      busy(button, false);
      busy(button, true, "Waiting for your bank…");
      blockError("confirm-error", "Your bank has not answered yet. Stay on this page: we will finish as soon as it does.");
      announce("Waiting for your bank to answer.");
    } else {
      blockError("confirm-error", refusal.message);
    }
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") sessionEnded();
    else blockError("confirm-error", messageOf(error));
  } finally {
    state.confirming = false;
    if (!keepBusy) busy(button, false);
  }
}

function paid(signedRedirectUrl) {
  state.stopLive();
  forgetSession();
  showEnded(
    { title: "Thank you! Your order is confirmed", text: `Taking you back to ${shopName()}…` },
    { linkText: `Continue to ${shopName()}`, href: signedRedirectUrl },
  );
  location.assign(signedRedirectUrl);
}

// ---------------------------------------------------------------------------------------
// Start

async function start() {
  byId("sandbox-badge").hidden = !sandbox;
  byId("test-cards-hint").hidden = !sandbox;
  byId("login-form").addEventListener("submit", onLogin);
  byId("mfa-form").addEventListener("submit", onVerifyMfa);
  byId("register-form").addEventListener("submit", onRegister);
  byId("card-form").addEventListener("submit", onAddCard);
  byId("show-login").addEventListener("click", () => showAccountForm("login"));
  byId("show-register").addEventListener("click", () => showAccountForm("register"));
  byId("sign-out").addEventListener("click", onSignOut);
  byId("show-card-form").addEventListener("click", () => {
    show(true, byId("card-form"));
    show(false, byId("show-card-form"));
    byId("card-number").focus();
  });
  byId("confirm").addEventListener("click", onConfirmClick);
  byId("leave").addEventListener("click", leave);

  let checkout;
  try {
    ({ checkout } = await graphql(CHECKOUT_QUERY, { token: checkoutToken }));
  } catch (error) {
    const notFound = error.code === "NOT_FOUND" || error.code === "BAD_USER_INPUT";
    showEnded(
      notFound
        ? { title: "Checkout not found", text: "This checkout link is not valid. Go back to the shop and try again." }
        : { title: "We could not load this checkout", text: messageOf(error) },
    );
    return;
  }
  state.checkout = checkout;
  state.status = checkout.status;
  renderCheckout(checkout);
  if (ENDINGS[checkout.status]) {
    await checkoutOver(checkout.status, checkout.cancellationReason);
    return;
  }
  show(false, byId("loading"));
  show(true, byId("checkout"));
  followLive();
  if (state.accessToken) await loadConsumer();
  else renderAccount();
}

start();
