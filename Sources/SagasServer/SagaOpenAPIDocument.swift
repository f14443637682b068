import Foundation

/// The OpenAPI 3.1 document of the API, served at `GET /v1/openapi.json`.
///
/// Kept by hand beside the routes (Docs/server.md says why), in three parts: the header and the paths other than
/// `/v1/sagas…` (this file), the `/v1/sagas…` paths, and the components. `SagaOpenAPITests` fails when its paths
/// and the router's differ; `ServeSchemathesisTests` fails when a response does not match it.
enum SagaOpenAPIDocument {
    /// The whole document as JSON text.
    static let text: String = {
        // Each part is one JSON object: drop the braces where they join.
        let header = String(Self.header.dropLast())
        let others = String(Self.otherPaths.dropLast())
        let webhooks = String(Self.webhookPaths.dropFirst().dropLast())
        let sagas = String(Self.sagaPaths.dropFirst())
        return header + ",\n\"paths\": " + others + "," + webhooks + ",\n" + sagas + ",\n\"components\": "
            + Self.componentsWithWebhooks + "\n}\n"
    }()

    /// `components`, with the webhook schemas added to its `schemas` (the last object it holds).
    static let componentsWithWebhooks: String = {
        let text = Self.components.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let end = text.range(of: "\n  }\n}", options: .backwards) else { return Self.components }
        let webhooks = Self.webhookSchemas.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst().dropLast()
        return String(text[..<end.lowerBound]) + "," + webhooks + "  }\n}"
    }()

    /// `openapi`, `info`, `servers`, `security`.
    static let header = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Sagas API",
    "version": "1",
    "description": "The HTTP API of saga serve. Errors are {\"error\": {\"code\", \"message\"}}. Send Authorization: Bearer TOKEN; roles viewer < operator < admin."
  },
  "servers": [{"url": "/"}],
  "security": [{"bearer": []}]
}
"""#

    /// The health checks, the document itself, interventions, overview and events.
    static let otherPaths = #"""
{
  "/metrics": {
    "get": {
      "operationId": "metrics",
      "summary": "Prometheus metrics (text exposition format), for a scrape with a bearer token",
      "responses": {
        "200": {"description": "The metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "Metrics are not enabled in this server",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/healthz": {
    "get": {
      "operationId": "healthz",
      "summary": "The process is alive",
      "security": [],
      "responses": {
        "200": {
          "description": "Alive",
          "content": {
            "application/json": {"schema": {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}}
          }
        }
      }
    }
  },
  "/readyz": {
    "get": {
      "operationId": "readyz",
      "summary": "The database answers and the worker (unless --no-worker) runs",
      "security": [],
      "responses": {
        "200": {
          "description": "Ready",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
        },
        "503": {
          "description": "Not ready",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
        }
      }
    }
  },
  "/v1/openapi.json": {
    "get": {
      "operationId": "openapi",
      "summary": "This document",
      "security": [],
      "responses": {
        "200": {"description": "The OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}
      }
    }
  },
  "/v1/interventions": {
    "get": {
      "operationId": "listInterventions",
      "summary": "Open interventions, oldest first",
      "parameters": [
        {
          "name": "workflow",
          "in": "query",
          "required": false,
          "schema": {"type": "string"},
          "description": "Only this workflow's"
        },
        {
          "name": "olderThan",
          "in": "query",
          "required": false,
          "schema": {"anyOf": [{"type": "string", "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"}, {"const": ""}]},
          "description": "Only those open at least this long (30m)"
        }
      ],
      "responses": {
        "200": {
          "description": "Open interventions",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {"interventions": {"type": "array", "items": {"$ref": "#/components/schemas/Intervention"}}},
                "required": ["interventions"],
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
        }
      }
    }
  },
  "/v1/interventions/{id}/resolve": {
    "post": {
      "operationId": "resolveIntervention",
      "summary": "Settle an intervention: retry, skip, or abandon (admin)",
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}(#[0-9]{1,9})?$"},
          "description": "SAGA#SEQ (send # as %23) or a saga id"
        }
      ],
      "requestBody": {
        "required": true,
        "content": {
          "application/json": {
            "schema": {
              "oneOf": [
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["action"],
                  "properties": {"action": {"const": "retry"}, "note": {"type": ["string", "null"]}, "input": {}}
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["action", "note"],
                  "properties": {"action": {"const": "skip"}, "note": {"type": "string", "pattern": "\\S"}, "output": {}}
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["action", "note"],
                  "properties": {"action": {"const": "abandon"}, "note": {"type": "string", "pattern": "\\S"}}
                }
              ]
            }
          }
        }
      },
      "responses": {
        "200": {
          "description": "Resolved",
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
  "/v1/stats": {
    "get": {
      "operationId": "stats",
      "summary": "Counts as saga stats --json prints them",
      "responses": {
        "200": {
          "description": "Statistics",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Statistics"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/workflows": {
    "get": {
      "operationId": "listWorkflows",
      "summary": "The workflow files, their steps, and their sagas by status",
      "responses": {
        "200": {
          "description": "Workflows",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "workflows": {"type": "array", "items": {"$ref": "#/components/schemas/Workflow"}},
                  "errors": {"type": "array", "items": {"type": "object"}}
                },
                "required": ["workflows", "errors"],
                "additionalProperties": false
              }
            }
          }
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/workers": {
    "get": {
      "operationId": "listWorkers",
      "summary": "Workers that hold a lease now",
      "responses": {
        "200": {
          "description": "Workers",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {"workers": {"type": "array", "items": {"$ref": "#/components/schemas/Worker"}}},
                "required": ["workers"],
                "additionalProperties": false
              }
            }
          }
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/events": {
    "get": {
      "operationId": "events",
      "summary": "Journal events as Server-Sent Events",
      "parameters": [
        {
          "name": "saga",
          "in": "query",
          "required": false,
          "schema": {"type": "string"},
          "description": "Only this saga's events; the stream ends when it is finished"
        },
        {
          "name": "Last-Event-ID",
          "in": "header",
          "required": false,
          "schema": {"type": "string"},
          "description": "Resume after this event: a sequence number with ?saga=, else MILLIS/SAGA/SEQ"
        }
      ],
      "responses": {
        "200": {
          "description": "An event stream: each event's data is the event as saga show --json prints it, with sagaId",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}
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
  }
}
"""#
}
