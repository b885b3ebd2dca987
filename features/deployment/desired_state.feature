@deployment
Feature: The deployment holds its desired state
  As the operator of the to-do service
  I want every part of it running as described
  So that users can rely on it

  Background:
    Given the to-do app is deployed on the suite's cluster

  Scenario: Every tier runs its desired number of ready replicas
    Then the database runs 1 ready replica
    And the back end runs 2 ready replicas
    And the front end runs 2 ready replicas

  Scenario: The database keeps its data on a bound volume
    Then the database's volume claim is bound

  Scenario: Every service has somewhere to send requests
    Then every service of the app has ready endpoints

  Scenario: The back end is configured from the shared settings and the secrets
    Then the back end takes its database location from the shared settings
    And the back end takes its database credentials from the secrets

  Scenario: No secret is written in the plain settings
    Then no secret value appears in any of the shared settings

  @needs_fails_without_settings
  Scenario: A back end without its database settings fails clearly
    When a back end is started without its database settings
    Then it stops within 60 seconds and names the missing setting
