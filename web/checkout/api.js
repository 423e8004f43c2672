// The public paylater API as the checkout page uses it: GraphQL over HTTP (POST /graphql),
// live updates over WebSocket (graphql-transport-ws at /graphql/ws), and, in sandbox mode,
// the card tokenizer that stands in for a gateway's client SDK (POST /sandbox/tokenize).

/** A refusal or failure of the API, with its `extensions.code` (or a code of the page's). */
export class ApiError extends Error {
  constructor(code, message, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

const UNREACHABLE = "We could not reach paylater. Check your connection and try again.";

async function postJson(path, body, headers = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("NETWORK", UNREACHABLE);
  }
  let json;
  try {
    json = await response.json();
  } catch {
    throw new ApiError("INTERNAL", "paylater answered something unexpected. Try again in a moment.");
  }
  return { status: response.status, json };
}

/**
 * Runs one GraphQL operation and returns its `data`; the first top-level error is thrown
 * as an ApiError. The access token goes in the Authorization header, never in a URL.
 */
export async function graphql(query, variables = {}, accessToken = null) {
  const headers = accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
  const { json } = await postJson("/graphql", { query, variables }, headers);
  const error = json.errors?.[0];
  if (error) {
    throw new ApiError(error.extensions?.code ?? "INTERNAL", error.message, error.extensions ?? {});
  }
  return json.data;
}

/**
 * Turns a test card into a gateway token with the sandbox tokenizer. Refusals are thrown
 * as ApiError with the tokenizer's code (`invalid_number`, `invalid_expiry`,
 * `expired_card`, `invalid_cvc`, `invalid_request`).
 */
export async function tokenizeSandboxCard(card) {
  const { status, json } = await postJson("/sandbox/tokenize", card);
  if (status !== 200) {
    throw new ApiError(json.error ?? "invalid_request", json.message ?? "The card was refused.");
  }
  return json;
}

/**
 * Subscribes to one GraphQL subscription over graphql-transport-ws, without credentials,
 * and keeps it alive: a dropped connection is opened again (waiting 1 s, 2 s, 4 s … up
 * to 30 s), and the server then sends the current state first. `onData` gets each
 * result's data, `onError` each error; `onConnection(true|false)` tells whether the
 * connection is up. Returns a function that ends the subscription.
 */
export function subscribe(query, variables, { onData, onError, onConnection = () => {} }) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/graphql/ws`;
  let socket = null;
  let stopped = false;
  let retries = 0;
  let timer = null;

  const send = (message) => socket.send(JSON.stringify(message));

  function open() {
    socket = new WebSocket(url, "graphql-transport-ws");
    socket.addEventListener("open", () => send({ type: "connection_init", payload: {} }));
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      switch (message.type) {
        case "connection_ack":
          retries = 0;
          onConnection(true);
          send({ id: "1", type: "subscribe", payload: { query, variables } });
          break;
        case "ping":
          send({ type: "pong" });
          break;
        case "next":
          if (message.payload?.errors?.length) {
            const error = message.payload.errors[0];
            onError(new ApiError(error.extensions?.code ?? "INTERNAL", error.message));
          } else if (message.payload?.data) {
            onData(message.payload.data);
          }
          break;
        case "error": {
          const error = message.payload?.[0] ?? {};
          onError(new ApiError(error.extensions?.code ?? "INTERNAL", error.message ?? ""));
          break;
        }
        case "complete":
          stopped = true;
          socket.close(1000);
          break;
        default:
          break;
      }
    });
    socket.addEventListener("close", () => {
      onConnection(false);
      if (!stopped) {
        const wait = Math.min(30_000, 1000 * 2 ** retries);
        retries += 1;
        timer = setTimeout(open, wait);
      }
    });
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000);
  };
}
