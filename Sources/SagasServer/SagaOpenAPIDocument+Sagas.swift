extension SagaOpenAPIDocument {
    /// `/v1/sagas` and the operations on one saga.
    static let sagaPaths = #"""
{
  "/v1/sagas": {
    "get": {
      "operationId": "listSagas",
      "summary": "Sagas, newest first, with the filters of saga list",
      "parameters": [
        {
          "name": "status",
          "in": "query",
          "required": false,
          "schema": {
            "type": "array",
            "items": {
              "enum": ["pending", "running", "compensating", "waiting", "completed", "compensated", "needs_intervention", "failed"]
            }
          },
          "description": "Statuses (repeat the parameter; commas also separate them)",
          "style": "form",
          "explode": true
        },
        {
          "name": "workflow",
          "in": "query",
          "required": false,
          "schema": {"anyOf": [{"type": "string", "pattern": "^(.+@0*[1-9][0-9]{0,8}|[^@]+)$"}, {"const": ""}]},
          "description": "NAME or NAME@VERSION"
        },
        {
          "name": "key",
          "in": "query",
          "required": false,
          "schema": {"type": "string"},
          "description": "The business key"
        },
        {
          "name": "since",
          "in": "query",
          "required": false,
          "schema": {
            "anyOf": [
              {"type": "string", "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"},
              {
                "type": "string",
                "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?Z)?$"
              },
              {"const": ""}
            ]
          },
          "description": "A duration ago (2h) or an ISO 8601 time"
        },
        {
          "name": "until",
          "in": "query",
          "required": false,
          "schema": {
            "anyOf": [
              {"type": "string", "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"},
              {
                "type": "string",
                "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?Z)?$"
              },
              {"const": ""}
            ]
          },
          "description": "A duration ago or an ISO 8601 time"
        },
        {
          "name": "stuck",
          "in": "query",
          "required": false,
          "schema": {"type": "boolean"},
          "description": "Only stuck sagas"
        },
        {
          "name": "hasIntervention",
          "in": "query",
          "required": false,
          "schema": {"type": "boolean"},
          "description": "Only sagas in needs_intervention"
        },
        {
          "name": "limit",
          "in": "query",
          "required": false,
          "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
        },
        {
          "name": "after",
          "in": "query",
          "required": false,
          "schema": {"type": "string"},
          "description": "The last id of the previous page"
        }
      ],
      "responses": {
        "200": {
          "description": "A page of sagas",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "sagas": {"type": "array", "items": {"$ref": "#/components/schemas/SagaSummary"}},
                  "next": {"type": ["string", "null"]}
                },
                "required": ["sagas", "next"],
                "additionalProperties": false
              }
            }
          }
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "The saga named by after does not exist",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    },
    "post": {
      "operationId": "startSaga",
      "summary": "Start a saga (or find the one with this id)",
      "parameters": [
        {
          "name": "traceparent", "in": "header", "required": false,
          "description": "A W3C traceparent: the saga's spans join that trace (journaled with the saga)",
          "schema": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"}
        }
      ],
      "requestBody": {
        "required": true,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {
                "workflow": {
                  "type": "string",
                  "pattern": "^[^@/\\\\]+(@0*[1-9][0-9]{0,8})?$",
                  "description": "NAME or NAME@VERSION of a workflow in the server's folder (never a file path)"
                },
                "input": {},
                "id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}
              },
              "required": ["workflow"],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "201": {
          "description": "Started",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SagaSummary"}}}
        },
        "200": {
          "description": "A saga with this id and input already existed",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SagaSummary"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this, or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga, intervention or workflow",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "409": {
          "description": "The saga's state refuses the request",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/sagas/{id}": {
    "get": {
      "operationId": "showSaga",
      "summary": "A saga as saga show --json prints it",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {
          "description": "The saga",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SagaDetail"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga, intervention or workflow",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/sagas/{id}/plan": {
    "get": {
      "operationId": "planSaga",
      "summary": "What cancelling the saga now would compensate (saga plan --json)",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {
          "description": "The plan",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Plan"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga, intervention or workflow",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "409": {
          "description": "The saga's state refuses the request",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/sagas/{id}/cancel": {
    "post": {
      "operationId": "cancelSaga",
      "summary": "Ask the saga to compensate",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "requestBody": {
        "required": false,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {"reason": {"type": "string"}},
              "required": [],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "200": {
          "description": "Cancel requested",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SagaSummary"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this, or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga, intervention or workflow",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "409": {
          "description": "The saga's state refuses the request",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/sagas/{id}/steps/{step}/signal": {
    "post": {
      "operationId": "signalStep",
      "summary": "Tell a waiting step how the work its action started ended (saga signal)",
      "description": "Authorized by the attempt's callback token in the body (no bearer token needed), or by an operator's bearer token (which may leave the token out to settle the attempt that waits now).",
      "security": [{}, {"bearer": []}],
      "parameters": [
        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "step", "in": "path", "required": true, "schema": {"type": "string"}}
      ],
      "requestBody": {
        "required": true,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {
                "token": {"type": "string"},
                "output": {},
                "error": {"type": "string"},
                "permanent": {"type": "boolean"}
              },
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "200": {
          "description": "The signal was journaled (resolved or queued), or was a duplicate",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "saga": {"type": "string"},
                  "step": {"type": "string"},
                  "attempt": {"type": "integer"},
                  "disposition": {"enum": ["resolved", "queued", "duplicate"]},
                  "seq": {"type": "integer"},
                  "status": {"$ref": "#/components/schemas/SagaStatus"}
                },
                "required": ["saga", "step", "attempt", "disposition", "seq", "status"]
              }
            }
          }
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, neither or both of output and error, no such step)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No callback token and no operator token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token belongs to no attempt of the step (wrong_token), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "409": {
          "description": "The attempt no longer waits or was signalled with another outcome (stale_signal), the step does not wait, or a worker kept the saga",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/sagas/{id}/terminate": {
    "post": {
      "operationId": "terminateSaga",
      "summary": "Stop the saga without compensating (admin)",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "requestBody": {
        "required": true,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {"reason": {"type": "string", "pattern": "\\S"}},
              "required": ["reason"],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "200": {
          "description": "Terminated",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SagaSummary"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this, or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga, intervention or workflow",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "409": {
          "description": "The saga's state refuses the request",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/sagas/{id}/rerun": {
    "post": {
      "operationId": "rerunSaga",
      "summary": "Start a new saga that reruns a finished one",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "requestBody": {
        "required": false,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {
                "from": {"type": "string"},
                "input": {},
                "latest": {"type": "boolean"},
                "id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}
              },
              "required": [],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "201": {
          "description": "The new saga",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SagaSummary"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this, or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such saga, intervention or workflow",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "409": {
          "description": "The saga's state refuses the request",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  }
}
"""#
}
