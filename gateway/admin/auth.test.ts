import { checkBearer } from './auth';

describe('the admin bearer check', () => {
  it('lets the exact token through, in any case of the scheme', () => {
    expect(checkBearer('Bearer s3cret-token', 's3cret-token')).toBeUndefined();
    expect(checkBearer('bearer s3cret-token', 's3cret-token')).toBeUndefined();
  });

  it('refuses a missing, wrong, longer or shorter token with 401, saying what to send', () => {
    expect(checkBearer(undefined, 's3cret-token')).toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
      message: expect.stringContaining('Authorization: Bearer'),
    });
    for (const header of ['Bearer nope', 'Bearer s3cret-tokenX', 'Bearer s3cret', 's3cret-token', 'Basic s3cret-token', 'Bearer ']) {
      expect(checkBearer(header, 's3cret-token')).toMatchObject({ code: 'UNAUTHORIZED' });
    }
  });
});
