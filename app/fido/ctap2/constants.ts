// CTAP2 command bytes, status codes and clientPIN sub-commands (CTAP 2.1 §6, §6.5.5, §8.2).

export const CTAP2_MAKE_CREDENTIAL = 0x01;
export const CTAP2_GET_ASSERTION = 0x02;
export const CTAP2_GET_INFO = 0x04;
export const CTAP2_CLIENT_PIN = 0x06;
export const CTAP2_GET_NEXT_ASSERTION = 0x08;
export const CTAP2_CREDENTIAL_MANAGEMENT = 0x0a;
export const CTAP2_SELECTION = 0x0b;
export const CTAP2_CREDENTIAL_MANAGEMENT_PREVIEW = 0x41; // CTAP 2.1-PRE keys (credentialMgmtPreview)

/** authenticatorCredentialManagement subCommand values (§6.8). */
export const CM_GET_METADATA = 0x01;
export const CM_ENUMERATE_RPS_BEGIN = 0x02;
export const CM_ENUMERATE_RPS_NEXT = 0x03;
export const CM_ENUMERATE_CREDENTIALS_BEGIN = 0x04;
export const CM_ENUMERATE_CREDENTIALS_NEXT = 0x05;

/** authenticatorClientPIN subCommand values (§6.5.5). */
export const PIN_GET_RETRIES = 0x01;
export const PIN_GET_KEY_AGREEMENT = 0x02;
export const PIN_SET_PIN = 0x03;
export const PIN_CHANGE_PIN = 0x04;
export const PIN_GET_PIN_TOKEN = 0x05;
export const PIN_GET_TOKEN_USING_UV = 0x06;
export const PIN_GET_TOKEN_WITH_PERMISSIONS = 0x09;

/** pinUvAuthToken permissions (§6.5.5.7). */
export const PERMISSION_MC = 0x01;
export const PERMISSION_GA = 0x02;
export const PERMISSION_CM = 0x04;

/** credProtect extension levels (CTAP 2.1 §12.1). */
export const CRED_PROTECT_UV_OPTIONAL = 1;
export const CRED_PROTECT_UV_OPTIONAL_WITH_ID = 2;
export const CRED_PROTECT_UV_REQUIRED = 3;

/** Status codes (§8.2 "Status codes"). */
export const CTAP2_OK = 0x00;
export const CTAP1_ERR_INVALID_COMMAND = 0x01;
export const CTAP1_ERR_INVALID_PARAMETER = 0x02;
export const CTAP1_ERR_INVALID_LENGTH = 0x03;
export const CTAP1_ERR_TIMEOUT = 0x05;
export const CTAP1_ERR_CHANNEL_BUSY = 0x06;
export const CTAP2_ERR_CBOR_UNEXPECTED_TYPE = 0x11;
export const CTAP2_ERR_INVALID_CBOR = 0x12;
export const CTAP2_ERR_MISSING_PARAMETER = 0x14;
export const CTAP2_ERR_CREDENTIAL_EXCLUDED = 0x19;
export const CTAP2_ERR_UNSUPPORTED_ALGORITHM = 0x26;
export const CTAP2_ERR_OPERATION_DENIED = 0x27;
export const CTAP2_ERR_KEY_STORE_FULL = 0x28;
export const CTAP2_ERR_UNSUPPORTED_OPTION = 0x2b;
export const CTAP2_ERR_INVALID_OPTION = 0x2c;
export const CTAP2_ERR_KEEPALIVE_CANCEL = 0x2d;
export const CTAP2_ERR_NO_CREDENTIALS = 0x2e;
export const CTAP2_ERR_USER_ACTION_TIMEOUT = 0x2f;
export const CTAP2_ERR_PIN_INVALID = 0x31;
export const CTAP2_ERR_PIN_BLOCKED = 0x32;
export const CTAP2_ERR_PIN_AUTH_INVALID = 0x33;
export const CTAP2_ERR_PIN_AUTH_BLOCKED = 0x34;
export const CTAP2_ERR_PIN_NOT_SET = 0x35;
export const CTAP2_ERR_PUAT_REQUIRED = 0x36; // a.k.a. PIN_REQUIRED
export const CTAP2_ERR_PIN_POLICY_VIOLATION = 0x37;
export const CTAP2_ERR_REQUEST_TOO_LARGE = 0x39;
export const CTAP2_ERR_UV_BLOCKED = 0x3c;
export const CTAP2_ERR_UV_INVALID = 0x3f;
export const CTAP2_ERR_UNAUTHORIZED_PERMISSION = 0x40;
export const CTAP1_ERR_OTHER = 0x7f;
