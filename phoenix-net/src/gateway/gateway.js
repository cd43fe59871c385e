// Phoenix API gateway (njs): routes an OpenAI-compatible request to the upstream serving the
// body's `model`, after checking that the prompt can fit that model's context.
// Written by Phoenix; the routes come from nginx.conf's `js_var $phoenix_routes`
// ({"model": ["location", max_model_len]}) and `js_var $phoenix_bytes_per_token`, the list of
// models from `js_var $phoenix_models`.

function reply(r, status, type, message, param, code) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, JSON.stringify({
        error: { message: message, type: type, param: param, code: code }
    }));
}

// UTF-8 length of a string, counted from its UTF-16 code units.
function utf8Bytes(text) {
    var bytes = 0;
    for (var i = 0; i < text.length; i++) {
        var c = text.charCodeAt(i);
        if (c < 0x80) {
            bytes += 1;
        } else if (c < 0x800) {
            bytes += 2;
        } else if (c >= 0xD800 && c <= 0xDBFF && i + 1 < text.length) {
            bytes += 4;
            i++;
        } else {
            bytes += 3;
        }
    }
    return bytes;
}

// The fewest tokens one prompt can take: exact for token ids, else its bytes divided by the
// most bytes a token holds (rounded up).
function promptTokens(value, bytesPerToken) {
    if (typeof value === 'string') {
        return Math.ceil(utf8Bytes(value) / bytesPerToken);
    }
    if (Array.isArray(value)) {
        var tokens = 0;
        for (var i = 0; i < value.length; i++) {
            var item = value[i];
            if (typeof item === 'number') {
                tokens += 1;
            } else if (typeof item === 'string') {
                tokens += Math.ceil(utf8Bytes(item) / bytesPerToken);
            } else if (item && typeof item.text === 'string') {
                tokens += Math.ceil(utf8Bytes(item.text) / bytesPerToken);
            }
        }
        return tokens;
    }
    return 0;
}

// Embeddings and completions take a prompt or a list of prompts, each of which must fit; a
// list of token-id lists is a list of prompts too.
function largestPrompt(value, bytesPerToken) {
    if (Array.isArray(value) && value.length > 0 &&
        (typeof value[0] === 'string' || Array.isArray(value[0]))) {
        var largest = 0;
        for (var i = 0; i < value.length; i++) {
            largest = Math.max(largest, promptTokens(value[i], bytesPerToken));
        }
        return largest;
    }
    return promptTokens(value, bytesPerToken);
}

// A chat's messages share one context.
function chatTokens(messages, bytesPerToken) {
    var tokens = 0;
    if (!Array.isArray(messages)) {
        return 0;
    }
    for (var i = 0; i < messages.length; i++) {
        if (messages[i]) {
            tokens += promptTokens(messages[i].content, bytesPerToken);
        }
    }
    return tokens;
}

function route(r) {
    if (r.method !== 'POST') {
        r.headersOut['Allow'] = 'POST';
        reply(r, 405, 'invalid_request_error', 'Only POST is allowed on ' + r.uri + '.',
              null, 'method_not_allowed');
        return;
    }
    var body;
    try {
        body = JSON.parse(r.requestText || '');
    } catch (e) {
        reply(r, 400, 'invalid_request_error', 'The request body is not valid JSON.', null,
              'invalid_json');
        return;
    }
    if (!body || typeof body.model !== 'string') {
        reply(r, 400, 'invalid_request_error', 'The request body has no `model`.', 'model',
              'missing_model');
        return;
    }
    var routes = JSON.parse(r.variables.phoenix_routes);
    var target = routes.hasOwnProperty(body.model) ? routes[body.model] : null;
    if (!target) {
        reply(r, 404, 'invalid_request_error', 'The model `' + body.model + '` does not exist.',
              'model', 'model_not_found');
        return;
    }
    var bytesPerToken = Number(r.variables.phoenix_bytes_per_token);
    var maxModelLen = target[1];
    var prompt;
    if (r.uri === '/v1/chat/completions') {
        prompt = chatTokens(body.messages, bytesPerToken);
    } else if (r.uri === '/v1/completions') {
        prompt = largestPrompt(body.prompt, bytesPerToken);
    } else {
        prompt = largestPrompt(body.input, bytesPerToken);
    }
    var completion = Number(body.max_completion_tokens || body.max_tokens || 0);
    if (prompt + completion > maxModelLen) {
        reply(r, 400, 'invalid_request_error',
              'This model\'s maximum context length is ' + maxModelLen + ' tokens; the ' +
              'request needs at least ' + (prompt + completion) + ' (' + prompt +
              ' in the prompt, estimated at ' + bytesPerToken + ' bytes per token, and ' +
              completion + ' to complete).', null, 'context_length_exceeded');
        return;
    }
    r.internalRedirect(target[0]);
}

// `GET /v1/models`: the served models, answered in the content phase, after the client's rate
// limit and ModSecurity (a `return` in the location would answer before both).
function models(r) {
    if (r.method !== 'GET' && r.method !== 'HEAD') {
        r.headersOut['Allow'] = 'GET, HEAD';
        reply(r, 405, 'invalid_request_error', 'Only GET is allowed on ' + r.uri + '.',
              null, 'method_not_allowed');
        return;
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.return(200, r.variables.phoenix_models);
}

export default { route, models };
