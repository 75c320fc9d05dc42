// The host's JSON API and event stream, with its token. The token comes from ?token= once (then leaves the URL)
// or from the prompt, and lives in this tab's session storage; it travels only in the Authorization header.

const TOKEN_KEY = 'orchestrator.token';

/** Thrown when the host answers 401: the page shows the token prompt. */
export class TokenRequired extends Error {
  constructor(refused) {
    super(refused ? 'the host refused this token' : 'this host needs its token');
    this.refused = refused;
  }
}

/** An API error with the host's own message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Moves a ?token= from the address into session storage, and takes it out of the address and history. */
export function adoptTokenFromUrl() {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
};

async function send(path, options = {}) {
  const headers = new Headers(options.headers);
  const current = token.get();
  if (current) headers.set('Authorization', `Bearer ${current}`);
  const response = await fetch(path, { ...options, headers, cache: 'no-store' });
  if (response.status === 401) throw new TokenRequired(Boolean(current));
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && typeof body.error === 'string') message = body.error;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiError(response.status, message);
  }
  return response;
}

export async function getJson(path, signal) {
  return (await send(path, { signal })).json();
}

export async function getText(path, signal) {
  return (await send(path, { signal })).text();
}

export async function postJson(path, body, signal) {
  const response = await send(path, {
    method: 'POST',
    signal,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return response.status === 204 ? null : response.json();
}

/**
 * A run's server-sent events, read with fetch so that the token goes in a header rather than the URL
 * (EventSource cannot set one). Yields {id, event, data}; ends when the host closes the stream.
 */
export async function* readEvents(path, lastEventId, signal) {
  const headers = { Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const response = await send(path, { signal, headers });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let pending = {};
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (pending.data !== undefined) {
            yield { id: pending.id, event: pending.event ?? 'message', data: JSON.parse(pending.data) };
          }
          pending = {};
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') pending.data = pending.data === undefined ? text : `${pending.data}\n${text}`;
        else if (field === 'id') pending.id = text;
        else if (field === 'event') pending.event = text;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
