/// The OpenAPI 3.1 document of the API, served at `GET /v1/openapi.json`.
///
/// Kept by hand beside the routes (Docs/server.md says why); `SagaOpenAPITests` fails when its paths and the
/// router's differ, or when a response does not match it.
enum SagaOpenAPIDocument {
    static let text = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Sagas API",
    "version": "1",
    "description": "The HTTP API of saga serve. Errors are {\"error\": {\"code\", \"message\"}}. Send Authorization: Bearer TOKEN; roles viewer < operator < admin."
  },
  "servers": [
    {
      "url": "/"
    }
  ],
  "security": [
    {
      "bearer": []
    }
  ],
  "components": {
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer"
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": [
          "error"
        ],
        "properties": {
          "error": {
            "type": "object",
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string"
              },
              "message": {
                "type": "string"
              }
            }
          }
        }
      },
      "Readiness": {
        "type": "object",
        "required": [
          "status",
          "database",
          "worker"
        ],
        "properties": {
          "status": {
            "enum": [
              "ready",
              "not_ready"
            ]
          },
          "database": {
            "type": "string"
          },
          "worker": {
            "enum": [
              "running",
              "stopped",
              "disabled"
            ]
          }
        }
      },
      "SagaStatus": {
        "enum": [
          "pending",
          "running",
          "compensating",
          "completed",
          "compensated",
          "needs_intervention",
          "failed"
        ]
      },
      "SagaSummary": {
        "type": "object",
        "required": [
          "id",
          "workflow",
          "version",
          "status",
          "createdAt",
          "updatedAt",
          "stuck",
          "currentStep",
          "lastError",
          "owner",
          "key",
          "rerunOf"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "workflow": {
            "type": "string"
          },
          "version": {
            "type": "integer"
          },
          "status": {
            "$ref": "#/components/schemas/SagaStatus"
          },
          "createdAt": {
            "type": "string"
          },
          "updatedAt": {
            "type": "string"
          },
          "stuck": {
            "type": "boolean"
          },
          "currentStep": {
            "type": [
              "string",
              "null"
            ]
          },
          "lastError": {
            "type": [
              "string",
              "null"
            ]
          },
          "owner": {
            "type": [
              "string",
              "null"
            ]
          },
          "key": {
            "type": [
              "string",
              "null"
            ]
          },
          "rerunOf": {
            "type": [
              "string",
              "null"
            ]
          },
          "cancelRequestedAt": {
            "type": "string"
          },
          "cancelReason": {
            "type": [
              "string",
              "null"
            ]
          }
        }
      },
      "SagaDetail": {
        "allOf": [
          {
            "$ref": "#/components/schemas/SagaSummary"
          },
          {
            "type": "object",
            "required": [
              "input",
              "events"
            ],
            "properties": {
              "input": {},
              "leaseExpiresAt": {
                "type": [
                  "string",
                  "null"
                ]
              },
              "reruns": {
                "type": "array",
                "items": {
                  "type": "string"
                }
              },
              "steps": {
                "type": "array",
                "items": {
                  "type": "object"
                }
              },
              "interventions": {
                "type": "array",
                "items": {
                  "type": "object"
                }
              },
              "events": {
                "type": "array",
                "items": {
                  "type": "object",
                  "required": [
                    "seq",
                    "at",
                    "type"
                  ]
                }
              }
            }
          }
        ]
      },
      "Plan": {
        "type": "object",
        "required": [
          "workflow",
          "status",
          "summary",
          "compensations"
        ],
        "properties": {
          "sagaId": {
            "type": [
              "string",
              "null"
            ]
          },
          "workflow": {
            "type": "string"
          },
          "status": {
            "type": "string"
          },
          "summary": {
            "type": "string"
          },
          "compensations": {
            "type": "array",
            "items": {
              "type": "object"
            }
          }
        }
      },
      "Intervention": {
        "type": "object",
        "required": [
          "id",
          "saga",
          "workflow",
          "version",
          "step",
          "phase",
          "reason",
          "attempts",
          "openedAt",
          "ageSeconds",
          "suggestion"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "saga": {
            "type": "string"
          },
          "workflow": {
            "type": "string"
          },
          "version": {
            "type": "integer"
          },
          "step": {
            "type": "string"
          },
          "phase": {
            "type": "string"
          },
          "reason": {
            "type": "string"
          },
          "errors": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "attempts": {
            "type": "integer"
          },
          "automaticRetries": {
            "type": "integer"
          },
          "openedAt": {
            "type": "string"
          },
          "ageSeconds": {
            "type": "integer"
          },
          "actions": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "suggestion": {
            "type": "string"
          },
          "lastError": {
            "type": [
              "string",
              "null"
            ]
          }
        }
      },
      "Statistics": {
        "type": "object",
        "required": [
          "total",
          "byStatus",
          "byWorkflow",
          "stuck",
          "interventions"
        ],
        "properties": {
          "total": {
            "type": "integer"
          },
          "byStatus": {
            "type": "object",
            "additionalProperties": {
              "type": "integer"
            }
          },
          "byWorkflow": {
            "type": "array",
            "items": {
              "type": "object"
            }
          },
          "stuck": {
            "type": "integer"
          },
          "interventions": {
            "type": "object"
          }
        }
      },
      "Workflow": {
        "type": "object",
        "required": [
          "name",
          "version",
          "steps",
          "sagas",
          "inUse"
        ],
        "properties": {
          "name": {
            "type": "string"
          },
          "version": {
            "type": "integer"
          },
          "file": {
            "type": [
              "string",
              "null"
            ]
          },
          "description": {
            "type": [
              "string",
              "null"
            ]
          },
          "steps": {
            "type": "array",
            "items": {
              "type": "object"
            }
          },
          "sagas": {
            "type": "object",
            "additionalProperties": {
              "type": "integer"
            }
          },
          "inUse": {
            "type": "boolean"
          }
        }
      },
      "Worker": {
        "type": "object",
        "required": [
          "id",
          "sagas",
          "leaseExpiresAt"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "host": {
            "type": [
              "string",
              "null"
            ]
          },
          "pid": {
            "type": [
              "integer",
              "null"
            ]
          },
          "sagas": {
            "type": "integer"
          },
          "leaseExpiresAt": {
            "type": "string"
          }
        }
      }
    }
  },
  "paths": {
    "/healthz": {
      "get": {
        "operationId": "healthz",
        "summary": "The process is alive",
        "security": [],
        "responses": {
          "200": {
            "description": "Alive",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "status": {
                      "const": "ok"
                    }
                  },
                  "required": [
                    "status"
                  ]
                }
              }
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
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Readiness"
                }
              }
            }
          },
          "503": {
            "description": "Not ready",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Readiness"
                }
              }
            }
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
          "200": {
            "description": "The OpenAPI 3.1 document",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
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
                "enum": [
                  "pending",
                  "running",
                  "compensating",
                  "completed",
                  "compensated",
                  "needs_intervention",
                  "failed"
                ]
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
            "schema": {
              "anyOf": [
                {
                  "type": "string",
                  "pattern": "^(.+@0*[1-9][0-9]{0,8}|[^@]+)$"
                },
                {
                  "const": ""
                }
              ]
            },
            "description": "NAME or NAME@VERSION"
          },
          {
            "name": "key",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "The business key"
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "schema": {
              "anyOf": [
                {
                  "type": "string",
                  "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"
                },
                {
                  "type": "string",
                  "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?Z)?$"
                },
                {
                  "const": ""
                }
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
                {
                  "type": "string",
                  "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"
                },
                {
                  "type": "string",
                  "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?Z)?$"
                },
                {
                  "const": ""
                }
              ]
            },
            "description": "A duration ago or an ISO 8601 time"
          },
          {
            "name": "stuck",
            "in": "query",
            "required": false,
            "schema": {
              "type": "boolean"
            },
            "description": "Only stuck sagas"
          },
          {
            "name": "hasIntervention",
            "in": "query",
            "required": false,
            "schema": {
              "type": "boolean"
            },
            "description": "Only sagas in needs_intervention"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 50
            }
          },
          {
            "name": "after",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
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
                    "sagas": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/SagaSummary"
                      }
                    },
                    "next": {
                      "type": [
                        "string",
                        "null"
                      ]
                    }
                  },
                  "required": [
                    "sagas",
                    "next"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "The saga named by after does not exist",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      },
      "post": {
        "operationId": "startSaga",
        "summary": "Start a saga (or find the one with this id)",
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
                  "id": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9._:-]{1,128}$"
                  }
                },
                "required": [
                  "workflow"
                ],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Started",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaSummary"
                }
              }
            }
          },
          "200": {
            "description": "A saga with this id and input already existed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaSummary"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "The token's role may not do this, or the server is read-only",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The saga's state refuses the request",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "Body larger than 1 MiB",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/sagas/{id}": {
      "get": {
        "operationId": "showSaga",
        "summary": "A saga as saga show --json prints it",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The saga",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaDetail"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/sagas/{id}/plan": {
      "get": {
        "operationId": "planSaga",
        "summary": "What cancelling the saga now would compensate (saga plan --json)",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The plan",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Plan"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The saga's state refuses the request",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/sagas/{id}/cancel": {
      "post": {
        "operationId": "cancelSaga",
        "summary": "Ask the saga to compensate",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "reason": {
                    "type": "string"
                  }
                },
                "required": [],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Cancel requested",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaSummary"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "The token's role may not do this, or the server is read-only",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The saga's state refuses the request",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "Body larger than 1 MiB",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/sagas/{id}/terminate": {
      "post": {
        "operationId": "terminateSaga",
        "summary": "Stop the saga without compensating (admin)",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "reason": {
                    "type": "string",
                    "pattern": "\\S"
                  }
                },
                "required": [
                  "reason"
                ],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Terminated",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaSummary"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "The token's role may not do this, or the server is read-only",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The saga's state refuses the request",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "Body larger than 1 MiB",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/sagas/{id}/rerun": {
      "post": {
        "operationId": "rerunSaga",
        "summary": "Start a new saga that reruns a finished one",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "from": {
                    "type": "string"
                  },
                  "input": {},
                  "latest": {
                    "type": "boolean"
                  },
                  "id": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9._:-]{1,128}$"
                  }
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
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaSummary"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "The token's role may not do this, or the server is read-only",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The saga's state refuses the request",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "Body larger than 1 MiB",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
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
            "schema": {
              "type": "string"
            },
            "description": "Only this workflow's"
          },
          {
            "name": "olderThan",
            "in": "query",
            "required": false,
            "schema": {
              "anyOf": [
                {
                  "type": "string",
                  "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"
                },
                {
                  "const": ""
                }
              ]
            },
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
                  "properties": {
                    "interventions": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Intervention"
                      }
                    }
                  },
                  "required": [
                    "interventions"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
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
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9._:-]{1,128}(#[0-9]{1,9})?$"
            },
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
                    "required": [
                      "action"
                    ],
                    "properties": {
                      "action": {
                        "const": "retry"
                      },
                      "note": {
                        "type": [
                          "string",
                          "null"
                        ]
                      },
                      "input": {}
                    }
                  },
                  {
                    "type": "object",
                    "additionalProperties": false,
                    "required": [
                      "action",
                      "note"
                    ],
                    "properties": {
                      "action": {
                        "const": "skip"
                      },
                      "note": {
                        "type": "string",
                        "pattern": "\\S"
                      },
                      "output": {}
                    }
                  },
                  {
                    "type": "object",
                    "additionalProperties": false,
                    "required": [
                      "action",
                      "note"
                    ],
                    "properties": {
                      "action": {
                        "const": "abandon"
                      },
                      "note": {
                        "type": "string",
                        "pattern": "\\S"
                      }
                    }
                  }
                ]
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Resolved",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SagaSummary"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "The token's role may not do this, or the server is read-only",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The saga's state refuses the request",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "Body larger than 1 MiB",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
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
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Statistics"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
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
                    "workflows": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Workflow"
                      }
                    },
                    "errors": {
                      "type": "array",
                      "items": {
                        "type": "object"
                      }
                    }
                  },
                  "required": [
                    "workflows",
                    "errors"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
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
                  "properties": {
                    "workers": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Worker"
                      }
                    }
                  },
                  "required": [
                    "workers"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
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
            "schema": {
              "type": "string"
            },
            "description": "Only this saga's events; the stream ends when it is finished"
          },
          {
            "name": "Last-Event-ID",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Resume after this event: a sequence number with ?saga=, else MILLIS/SAGA/SEQ"
          }
        ],
        "responses": {
          "200": {
            "description": "An event stream: each event's data is the event as saga show --json prints it, with sagaId",
            "content": {
              "text/event-stream": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "description": "Invalid request (malformed JSON, unknown field, bad parameter)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "No token or a bad token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No such saga, intervention or workflow",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The database is unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    }
  }
}
"""#
}
