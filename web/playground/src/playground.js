// The paylater playground: GraphiQL over this server's /graphql (HTTP) and /graphql/ws
// (graphql-transport-ws). The server puts the settings in the page as JSON (no inline
// script, so the page's Content-Security-Policy can allow scripts from 'self' only).
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("playground-config").textContent);

  function absolute(path, webSocket) {
    const url = new URL(path, window.location.href);
    if (webSocket) {
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    }
    return url.toString();
  }

  const headers = Object.keys(config.headers).length
    ? JSON.stringify(config.headers, null, 2)
    : undefined;

  const fetcher = GraphiQL.createFetcher({
    url: absolute(config.endpoint, false),
    subscriptionUrl: absolute(config.subscriptionEndpoint, true),
    wsConnectionParams: config.headers,
  });

  const example = {
    query: config.example.query,
    variables: config.example.variables,
    headers: headers,
  };
  const props = {
    fetcher: fetcher,
    defaultTabs: [example],
    defaultHeaders: headers,
    defaultEditorToolsVisibility: "variables",
  };
  // GraphiQL 4 fills the variables editor from its storage only, never from the default
  // tab: on a first visit (nothing stored yet), hand it the example's variables.
  if (window.localStorage.getItem("graphiql:tabState") === null) {
    props.variables = example.variables;
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props),
  );
})();
